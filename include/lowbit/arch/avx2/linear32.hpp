#pragma once
/// \file arch/avx2/linear32.hpp
/// AVX2 kernels for q4_0, q4_1, q5_0 and q5_1 (the decoders and the dot driver are arch/x86/linear32.hpp's).
#include "../x86/linear32.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// As the reference (see ref/linear32.hpp for the formulas): symmetric blocks scale by the first value of
/// largest magnitude, asymmetric ones by their min and max; codes are trunc(float(x * id) + offset), clamped.
template <class Block, ref::if_nibble_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    using traits = ref::nibble_format<Block>;
    constexpr int zero = 1 << (traits::bits - 1), max_code = (1 << traits::bits) - 1;
    const __m256i lowest = _mm256_setzero_si256(), highest = _mm256_set1_epi32(max_code);
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const block_f32 v(x);
        fbatch base(0.0f), id, offset;  // code = trunc(float((x - base) * id) + offset)
        if constexpr (traits::has_min) {
            const float lo = first_equal(x, v, hmin(xsimd::min(xsimd::min(v.v[0], v.v[1]), xsimd::min(v.v[2], v.v[3]))));
            const float hi = first_equal(x, v, hmax(xsimd::max(xsimd::max(v.v[0], v.v[1]), xsimd::max(v.v[2], v.v[3]))));
            const float d = (hi - lo) / static_cast<float>(max_code);
            base = fbatch(lo);
            id = fbatch(ref::inverse_or_zero(d));
            offset = fbatch(0.5f);
            store_half1(y[b].d, d);
            store_half1(y[b].m, lo);
        } else {
            const float d = signed_absmax(x, v) / -static_cast<float>(zero);
            id = fbatch(ref::inverse_or_zero(d));
            offset = fbatch(static_cast<float>(zero) + 0.5f);
            store_half1(y[b].d, d);
        }
        __m256i code[4];
        for (int i = 0; i < 4; ++i) {
            // The scaled value is rounded to float before the offset is added, as in the reference.
            const fbatch scaled = traits::has_min ? rounded((v.v[i] - base) * id) : rounded(v.v[i] * id);
            code[i] = _mm256_min_epi32(_mm256_max_epi32(trunc_to_int(scaled + offset), lowest), highest);
        }
        const __m256i bytes = pack_bytes(code);
        store_nibbles(bytes, y[b].qs);
        if constexpr (traits::bits == 5) store_high_bits(bytes, y[b].qh);
    }
}

/// Symmetric: x_i = d * (code_i - Z). Asymmetric: x_i = float(d * code_i) + m (rounded product, no FMA).
template <class Block, ref::if_nibble_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    using traits = ref::nibble_format<Block>;
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const fbatch d(load_half1(x[b].d));
        alignas(32) std::int8_t code[32];
        __m256i c = unpack_codes(x[b]);
        if constexpr (!traits::has_min) c = _mm256_sub_epi8(c, _mm256_set1_epi8(1 << (traits::bits - 1)));
        _mm256_store_si256(reinterpret_cast<__m256i*>(code), c);
        for (int i = 0; i < 4; ++i) {
            if constexpr (traits::has_min) {
                const fbatch m(load_half1(x[b].m));
                (rounded(d * bytes_to_float<false>(code + 8 * i)) + m).store_unaligned(y + 8 * i);
            } else {
                (d * bytes_to_float<true>(code + 8 * i)).store_unaligned(y + 8 * i);
            }
        }
    }
}

/// Symmetric with q8_0: sum of isum * (d_w * d_a). Asymmetric with q8_1: plus m_w * s_a. 8 blocks per step
/// (see x86_impl::dot_driver).
template <class Block, ref::if_nibble_format<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const avx2&) noexcept {
    return x86_impl::nibble_dot_blocks<x86_impl::maddubs_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
