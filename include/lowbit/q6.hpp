#pragma once
/// \file q6.hpp
/// 6-bit format: q6_K (6.5625 bits per weight); its activations are q8_K.
#include "api.hpp"
#include "kernels.hpp"
