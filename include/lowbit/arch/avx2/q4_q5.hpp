#pragma once
/// \file arch/avx2/q4_q5.hpp
/// AVX2 kernels for q4_0, q4_1, q5_0 and q5_1, with the reference's results (arch/scalar/q4_q5.hpp):
/// identical bytes and floats from quantize and dequantize, exact integer block sums in dot. One code path,
/// parameterized like the reference by ref::nibble_format (code bits, and whether the block has a min).
/// Inputs to quantize must be finite.
#include "../scalar/q4_q5.hpp"
#include "common.hpp"

namespace lowbit::arch {
namespace avx2_detail {

/// A nibble block's 32 codes as bytes in weight order (0..15, or 0..31 with the fifth bit from qh).
template <class Block>
LOWBIT_INLINE __m256i unpack_codes(const Block& b) noexcept {
    const __m256i low = unpack_nibbles(b.qs);
    if constexpr (ref::nibble_format<Block>::bits == 5) return _mm256_or_si256(low, unpack_high_bits(b.qh));
    else return low;
}

/// Weight block times activation block: 8 int32 lanes summing to the block's exact integer sum.
template <class Block>
LOWBIT_INLINE __m256i isum_nibbles(const Block& w, const std::int8_t* aq) noexcept {
    using traits = ref::nibble_format<Block>;
    const __m256i code = unpack_codes(w);
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq));
    __m256i pairs;  // 16 int16 sums of two products; |pair| <= 2 * 31 * 128, so maddubs never saturates
    if constexpr (traits::has_min) {
        pairs = _mm256_maddubs_epi16(code, act);  // code unsigned (0..31) times signed activation
    } else {
        // (code - Z) is signed: move the sign onto it. |a| <= 128 fits the unsigned operand, and negating
        // code - Z (in -16..15) cannot wrap, so |a| * sign(code - Z, a) == (code - Z) * a for every byte.
        const __m256i centered = _mm256_sub_epi8(code, _mm256_set1_epi8(static_cast<char>(1 << (traits::bits - 1))));
        pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(act), _mm256_sign_epi8(centered, act));
    }
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

}  // namespace avx2_detail

/// As the reference (see arch/scalar/q4_q5.hpp for the formulas): symmetric blocks scale by the first value of
/// largest magnitude, asymmetric ones by their min and max; codes are trunc(float(x * id) + offset), clamped.
template <class Block, ref::if_nibble_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace avx2_detail;
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
    using namespace avx2_detail;
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
/// (see avx2_detail::dot_driver).
template <class Block, ref::if_nibble_format<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const avx2&) noexcept {
    using ablock = typename Block::format::activation::block;
    return avx2_detail::dot_driver<ref::nibble_format<Block>::has_min>(
        w, a, nblocks, [](const Block& wb, const ablock& ab) { return avx2_detail::isum_nibbles(wb, ab.qs); });
}

}  // namespace lowbit::arch
