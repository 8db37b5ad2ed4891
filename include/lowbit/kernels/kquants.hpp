#pragma once
/// \file kernels/kquants.hpp
/// Every compiled backend's kernels for q2_K, q3_K, q4_K, q5_K, q6_K and q8_K: the reference, then each backend
/// the flags enable (a backend without K kernels uses its base tag's, e.g. AVX-512 BW uses AVX2's).
#include "../arch/scalar/kquants.hpp"
#if defined(LOWBIT_HAVE_AVX2)
#include "../arch/avx2/kquants.hpp"
#endif
#if defined(LOWBIT_HAVE_AVX512_VNNI)
#include "../arch/avx512/kquants.hpp"
#endif
#if defined(LOWBIT_HAVE_NEON)
#include "../arch/neon/kquants.hpp"
#endif
