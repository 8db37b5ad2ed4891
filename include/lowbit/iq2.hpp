#pragma once
/// \file iq2.hpp
/// GGUF's 2-bit codebook formats: iq2_xxs (2.0625 bits per weight: groups of 8 weights from a 256-point grid),
/// iq2_xs (2.3125: a 512-point grid, a scale per 16 weights) and iq2_s (2.5625: a 1024-point grid, every sign
/// stored); q8_K activations. See format/iq_common.hpp.
#include "api.hpp"
#include "kernels.hpp"
