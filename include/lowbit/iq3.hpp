#pragma once
/// \file iq3.hpp
/// GGUF's 3-bit codebook formats: iq3_xxs (3.0625 bits per weight: groups of 4 weights from a 256-point grid, 7 sign
/// bits per 8) and iq3_s (3.4375: a 512-point grid, every sign stored); q8_K activations. See format/iq_common.hpp.
#include "api.hpp"
#include "kernels.hpp"
