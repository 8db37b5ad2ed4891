#pragma once
/// \file arch/x86/linear32.hpp
/// The 256-bit x86 pieces of the q4_0, q4_1, q5_0 and q5_1 kernels, shared by the AVX2 and AVX-VNNI backends: a
/// block's codes as bytes, and dot_blocks over an int8 dot (int8_dot.hpp), with exact integer block sums. One code
/// path, parameterized like the reference (ref/linear32.hpp) by ref::nibble_format (code bits, and whether
/// the block has a min).
#include "../../ref/linear32.hpp"
#include "common.hpp"
#include "int8_dot.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// A nibble block's 32 codes as bytes in weight order (0..15, or 0..31 with the fifth bit from qh).
template <class Block>
LOWBIT_INLINE __m256i unpack_codes(const Block& b) noexcept {
    const __m256i low = unpack_nibbles(b.qs);
    if constexpr (ref::nibble_format<Block>::bits == 5) return _mm256_or_si256(low, unpack_high_bits(b.qh));
    else return low;
}

/// Weight block times activation block: 8 int32 lanes summing to the block's exact integer sum.
template <class Dot, class Block>
LOWBIT_INLINE __m256i isum_nibbles(const Block& w, const std::int8_t* aq) noexcept {
    using traits = ref::nibble_format<Block>;
    const __m256i code = unpack_codes(w);
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq));
    // |pair| <= 2 * 31 * 128 (and |u| <= 128 below): vpmaddubsw never saturates.
    if constexpr (traits::has_min) {
        return Dot::dot(_mm256_setzero_si256(), code, act);  // code unsigned (0..31) times signed activation
    } else {
        // (code - Z) is signed: move the sign onto it. |a| <= 128 fits the unsigned operand, and negating
        // code - Z (in -16..15) cannot wrap, so |a| * sign(code - Z, a) == (code - Z) * a for every byte.
        const __m256i centered = _mm256_sub_epi8(code, _mm256_set1_epi8(static_cast<char>(1 << (traits::bits - 1))));
        return Dot::dot(_mm256_setzero_si256(), _mm256_abs_epi8(act), _mm256_sign_epi8(centered, act));
    }
}

/// Symmetric with q8_0: sum of isum * (d_w * d_a). Asymmetric with q8_1: plus m_w * s_a. 8 blocks per step
/// (see dot_driver).
template <class Dot, class Block>
inline float nibble_dot_blocks(const Block* w, const typename Block::format::activation::block* a,
                               std::size_t nblocks) noexcept {
    using ablock = typename Block::format::activation::block;
    return dot_driver<ref::nibble_format<Block>::has_min>(
        w, a, nblocks, [](const Block& wb, const ablock& ab) { return isum_nibbles<Dot>(wb, ab.qs); });
}

}  // namespace x86_impl

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
