#pragma once
/// \file arch/avx512/attention.hpp
/// AVX-512 VNNI attention_codes: AVX2's (arch/x86/attention.hpp) with the EVEX vpdpwssd on ymm (AVX512VL) as the
/// int16 pair dot. The same integer sums, so the same result, bit for bit. The other attention kernels are AVX2's.
#include "../x86/attention.hpp"
#include "intrin.hpp"

LOWBIT_AVX512_KERNELS_BEGIN

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace avx512_impl {

struct dpwssd_pairs {
    static LOWBIT_INLINE __m256i dot(__m256i acc, __m256i a, __m256i b) noexcept {
        return _mm256_dpwssd_epi32(acc, a, b);
    }
};

}  // namespace avx512_impl

inline void attention_codes(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o, const avx512_vnni&) noexcept {
    x86_impl::attention_codes_by<avx512_impl::dpwssd_pairs>(p, p_stride, rows, lo, hi, codes, d, mins, d_stride, dim,
                                                             o);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch

LOWBIT_AVX512_KERNELS_END
