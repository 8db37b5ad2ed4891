#pragma once
/// \file arch/avx512/linear32.hpp
/// AVX-512 kernels for q4_0, q4_1, q5_0 and q5_1 (the arithmetic is specified by ref/linear32.hpp;
/// results are bit-identical, dot products up to float reassociation). Quantize and dequantize take one
/// block (two 512-bit float registers: elements 0-15 and 16-31, i.e. the low and the high nibbles) per
/// iteration; the dot products take two blocks per 512-bit register (arch/avx512/common.hpp).
#include "../../ref/linear32.hpp"
#include "common.hpp"

#include <cstring>

LOWBIT_AVX512_KERNELS_BEGIN

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace avx512_impl {

/// The 32-bit fifth-bit mask of a 5-bit block (bit i = bit 4 of code i), or 0 for a 4-bit block.
template <class Block>
LOWBIT_INLINE std::uint32_t high_mask(const Block& b) noexcept {
    std::uint32_t h = 0;
    if constexpr (ref::nibble_format<Block>::bits == 5) std::memcpy(&h, b.qh, 4);
    else static_cast<void>(b);
    return h;
}

/// The codes of two blocks as bytes: block b0's 32 codes in bytes 0-31, b1's in bytes 32-63.
template <class Block>
LOWBIT_INLINE __m512i pair_codes(const Block& b0, const Block& b1) noexcept {
    // 128-bit lanes (qs0, qs0, qs1, qs1), then the second copy of each shifted right by 4: low nibbles are
    // codes 0-15, high nibbles codes 16-31.
    const __m256i qs = _mm256_inserti128_si256(_mm256_castsi128_si256(load16(b0.qs)), load16(b1.qs), 1);
    const __m512i twice =
        _mm512_permutexvar_epi64(_mm512_set_epi64(3, 2, 3, 2, 1, 0, 1, 0), _mm512_castsi256_si512(qs));
    __m512i codes = _mm512_and_si512(_mm512_srlv_epi64(twice, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0)),
                                     _mm512_set1_epi8(0x0F));
    if constexpr (ref::nibble_format<Block>::bits == 5) {
        const __mmask64 high = high_mask(b0) | static_cast<std::uint64_t>(high_mask(b1)) << 32;
        codes = _mm512_mask_add_epi8(codes, high, codes, _mm512_set1_epi8(16));
    }
    return codes;
}

/// Offset subtracted from the codes in the dot product: the zero point Z for q4_0/q5_0, 0 for q4_1/q5_1.
template <class Block>
constexpr int dot_offset = ref::nibble_format<Block>::has_min ? 0 : 1 << (ref::nibble_format<Block>::bits - 1);

}  // namespace avx512_impl

/// As the reference. Symmetric: m = the first value of largest |x|, d = m / -Z, code = min(2Z-1,
/// trunc(float(x * id) + (Z + 0.5))). Asymmetric: d = (max - min) / C, code = min(C, trunc(float((x - min) * id)
/// + 0.5)). Codes are clamped in int32, then packed: nibbles by vpmovdb, fifth bits by vptestmd.
/// Precondition: finite input (the public API checks it).
template <class Block, ref::if_nibble_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const avx512&) noexcept {
    using namespace avx512_impl;
    using traits = ref::nibble_format<Block>;
    constexpr int zero = 1 << (traits::bits - 1), max_code = (1 << traits::bits) - 1;
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
        __m512i c0, c1;
        if constexpr (traits::has_min) {
            // first_equal picks the reference's min/max among equal values (only a zero's sign can differ).
            const float mn = x[first_equal(lo, hi, reduce_extreme<false>(lo, hi))];
            const float mx = x[first_equal(lo, hi, reduce_extreme<true>(lo, hi))];
            const float d = (mx - mn) / static_cast<float>(max_code);
            const __m512 id = _mm512_set1_ps(ref::inverse_or_zero(d)), vmin = _mm512_set1_ps(mn);
            const __m512 half = _mm512_set1_ps(0.5f);
            c0 = clamped_code(product_plus(_mm512_sub_ps(lo, vmin), id, half), max_code);
            c1 = clamped_code(product_plus(_mm512_sub_ps(hi, vmin), id, half), max_code);
            store_half(y[b].d, d);
            store_half(y[b].m, mn);
        } else {
            const __m512 alo = abs_ps(lo), ahi = abs_ps(hi);
            const float amax = reduce_extreme<true>(alo, ahi);
            const float m = amax == 0.0f ? 0.0f : x[first_equal(alo, ahi, amax)];  // +0 for an all-zero block
            const float d = m / -static_cast<float>(zero);
            const __m512 id = _mm512_set1_ps(ref::inverse_or_zero(d));
            const __m512 shift = _mm512_set1_ps(static_cast<float>(zero) + 0.5f);
            c0 = clamped_code(product_plus(lo, id, shift), max_code);
            c1 = clamped_code(product_plus(hi, id, shift), max_code);
            store_half(y[b].d, d);
        }
        if constexpr (traits::bits == 5) {
            const __m512i bit4 = _mm512_set1_epi32(16);
            const std::uint32_t h = static_cast<std::uint32_t>(_mm512_test_epi32_mask(c0, bit4)) |
                                    static_cast<std::uint32_t>(_mm512_test_epi32_mask(c1, bit4)) << 16;
            std::memcpy(y[b].qh, &h, 4);
        }
        // Byte j = code j's low nibble | code j+16 << 4; vpmovdb keeps the low byte, dropping c1's bit 4.
        const __m512i packed = _mm512_or_si512(_mm512_and_si512(c0, _mm512_set1_epi32(0x0F)), _mm512_slli_epi32(c1, 4));
        store16(y[b].qs, _mm512_cvtepi32_epi8(packed));
    }
}

/// Symmetric: x_i = d * float(code_i - Z). Asymmetric: x_i = float(d * code_i) + m (product rounded first).
/// Codes are widened to int32 (vpmovzxbd), split into nibbles, and get their fifth bit by a masked add.
template <class Block, ref::if_nibble_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const avx512&) noexcept {
    using namespace avx512_impl;
    using traits = ref::nibble_format<Block>;
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const __m512i bytes = _mm512_cvtepu8_epi32(load16(x[b].qs));
        __m512i c0 = _mm512_and_si512(bytes, _mm512_set1_epi32(0x0F)), c1 = _mm512_srli_epi32(bytes, 4);
        if constexpr (traits::bits == 5) {
            const std::uint32_t h = high_mask(x[b]);
            const __m512i bit4 = _mm512_set1_epi32(16);
            c0 = _mm512_mask_add_epi32(c0, static_cast<__mmask16>(h), c0, bit4);
            c1 = _mm512_mask_add_epi32(c1, static_cast<__mmask16>(h >> 16), c1, bit4);
        }
        const __m512 d = _mm512_set1_ps(load_half(x[b].d));
        if constexpr (traits::has_min) {
            const __m512 m = _mm512_set1_ps(load_half(x[b].m));
            _mm512_storeu_ps(y, product_plus(d, _mm512_cvtepi32_ps(c0), m));
            _mm512_storeu_ps(y + 16, product_plus(d, _mm512_cvtepi32_ps(c1), m));
        } else {
            const __m512i z = _mm512_set1_epi32(1 << (traits::bits - 1));
            _mm512_storeu_ps(y, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(c0, z))));
            _mm512_storeu_ps(y + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(c1, z))));
        }
    }
}

/// AVX-512BW: per block pair, codes unpacked to bytes (1 vpermq, 1 vpsrlvq, 1 and, + 1 masked vpaddb for the
/// fifth bit), then vpmaddubsw codes x a, minus vpmaddubsw Z x a for the symmetric formats, and vpmaddwd
/// by 1 to int32; then the shared per-block reduction and scaling.
template <class Block, ref::if_nibble_format<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const avx512&) noexcept {
    using namespace avx512_impl;
    return dot_by_pairs(w, a, nblocks, [](const Block& w0, const auto& a0, const Block& w1, const auto& a1) noexcept {
        return pair_sums_bw<dot_offset<Block>>(pair_codes(w0, w1), load_pair(a0.qs, a1.qs));
    });
}

#if LOWBIT_HAVE_AVX512_VNNI
/// VNNI: the same with vpdpbusd in place of vpmaddubsw + vpmaddwd.
template <class Block, ref::if_nibble_format<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const avx512_vnni&) noexcept {
    using namespace avx512_impl;
    return dot_by_pairs(w, a, nblocks, [](const Block& w0, const auto& a0, const Block& w1, const auto& a1) noexcept {
        return pair_sums_vnni<dot_offset<Block>>(pair_codes(w0, w1), load_pair(a0.qs, a1.qs));
    });
}
#endif

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch

LOWBIT_AVX512_KERNELS_END
