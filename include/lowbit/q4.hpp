#pragma once
/// \file q4.hpp
/// 4-bit formats: q4_0 (4.5 bits per weight), q4_1 (5 bits per weight), q4_K (4.5 bits per weight); their
/// activations are q8_0 / q8_1 / q8_K.
#include "api.hpp"
#include "kernels.hpp"
