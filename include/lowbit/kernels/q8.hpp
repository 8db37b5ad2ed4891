#pragma once
/// \file kernels/q8.hpp
/// Every compiled backend's kernels for q8_0 and q8_1: the reference, then each backend the flags enable.
#include "../arch/scalar/q8.hpp"
#if defined(LOWBIT_HAVE_AVX2)
#include "../arch/avx2/q8.hpp"
#endif
#if defined(LOWBIT_HAVE_AVX512)
#include "../arch/avx512/q8.hpp"
#endif
#if defined(LOWBIT_HAVE_NEON)
#include "../arch/neon/q8.hpp"
#endif
