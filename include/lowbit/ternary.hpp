#pragma once
/// \file ternary.hpp
/// GGUF's ternary formats for BitNet b1.58 models: tq2_0 (2.0625 bits per weight: 2-bit codes) and tq1_0 (1.6875
/// bits per weight: five trits per byte); each weight is -d, 0 or d with one fp16 d per 256; q8_K activations.
#include "api.hpp"
#include "kernels.hpp"
