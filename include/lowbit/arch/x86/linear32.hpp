#pragma once
/// \file arch/x86/linear32.hpp
/// AVX2 kernels for q4_0, q4_1, q5_0 and q5_1, with the reference's results (arch/scalar/q4_q5.hpp):
/// identical bytes and floats from quantize and dequantize, exact integer block sums in dot. One code path,
/// parameterized like the reference by ref::nibble_format (code bits, and whether the block has a min).
/// Inputs to quantize must be finite.
#include "../../ref/linear32.hpp"
#include "common.hpp"

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

}  // namespace x86_impl

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
