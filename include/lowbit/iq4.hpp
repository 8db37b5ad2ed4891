#pragma once
/// \file iq4.hpp
/// GGUF's non-linear 4-bit formats: iq4_nl (4.5 bits per weight: 4-bit codes into a table of 16 values denser near
/// zero, one fp16 scale per 32 weights; q8_0 activations) and iq4_xs (4.25 bits per weight: the same codes, 6-bit
/// scales per 32 weights under an fp16 scale per 256; q8_K activations).
#include "api.hpp"
#include "kernels.hpp"
