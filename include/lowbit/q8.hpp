#pragma once
/// \file q8.hpp
/// 8-bit formats: q8_0 (8.5 bits per weight) and the activation format q8_1 (9 bits per value).
#include "api.hpp"
#include "kernels.hpp"
