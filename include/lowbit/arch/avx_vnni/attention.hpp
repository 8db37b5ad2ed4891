#pragma once
/// \file arch/avx_vnni/attention.hpp
/// AVX-VNNI attention_codes: AVX2's (arch/x86/attention.hpp) with vpdpwssd as the int16 pair dot. The same integer
/// sums, so the same result, bit for bit. The other attention kernels are AVX2's.
#include "../x86/attention.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

inline void attention_codes(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o, const avx_vnni&) noexcept {
    x86_impl::attention_codes_by<x86_impl::dpwssd_pairs>(p, p_stride, rows, lo, hi, codes, d, mins, d_stride, dim, o);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
