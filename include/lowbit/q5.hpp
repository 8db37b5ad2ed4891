#pragma once
/// \file q5.hpp
/// 5-bit formats: q5_0 (5.5 bits per weight), q5_1 (6 bits per weight), q5_K (5.5 bits per weight); their
/// activations are q8_0 / q8_1 / q8_K.
#include "api.hpp"
#include "kernels.hpp"
