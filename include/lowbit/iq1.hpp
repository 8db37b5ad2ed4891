#pragma once
/// \file iq1.hpp
/// GGUF's 1-bit codebook formats: iq1_s (1.5625 bits per weight: groups of 8 weights of -1, 0, 1 from a 2048-point
/// grid, shifted by +-1/8) and iq1_m (1.75: the shift per group, a scale per 16 weights); q8_K activations. See
/// format/iq_common.hpp.
#include "api.hpp"
#include "kernels.hpp"
