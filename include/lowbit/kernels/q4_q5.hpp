#pragma once
/// \file kernels/q4_q5.hpp
/// Every compiled backend's kernels for q4_0, q4_1, q5_0 and q5_1: the reference, then each backend the flags enable.
#include "../arch/scalar/q4_q5.hpp"
#if defined(LOWBIT_HAVE_AVX2)
#include "../arch/avx2/q4_q5.hpp"
#endif
#if defined(LOWBIT_HAVE_AVX512)
#include "../arch/avx512/q4_q5.hpp"
#endif
#if defined(LOWBIT_HAVE_NEON)
#include "../arch/neon/q4_q5.hpp"
#endif
