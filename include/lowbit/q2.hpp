#pragma once
/// \file q2.hpp
/// 2-bit format: q2_K (2.625 bits per weight); its activations are q8_K.
#include "api.hpp"
#include "kernels.hpp"
