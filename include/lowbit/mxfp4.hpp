#pragma once
/// \file mxfp4.hpp
/// OCP Microscaling FP4, GGUF's MXFP4: E2M1 values with one power-of-two scale per 32 weights (4.25 bits per
/// weight); its activations are q8_0.
#include "api.hpp"
#include "kernels.hpp"
