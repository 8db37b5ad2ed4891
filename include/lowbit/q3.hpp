#pragma once
/// \file q3.hpp
/// 3-bit format: q3_K (3.4375 bits per weight); its activations are q8_K.
#include "api.hpp"
#include "kernels.hpp"
