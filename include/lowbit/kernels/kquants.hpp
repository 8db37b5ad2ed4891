#pragma once
/// \file kernels/kquants.hpp
/// Every compiled backend's kernels for q2_K, q3_K, q4_K, q5_K, q6_K and q8_K: the reference, then each backend
/// the flags enable (none has K kernels yet: every backend uses the reference through its base tag).
#include "../arch/scalar/kquants.hpp"
