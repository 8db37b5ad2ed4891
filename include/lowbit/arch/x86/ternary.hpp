#pragma once
/// \file arch/x86/ternary.hpp
/// The 256-bit x86 pieces of the tq1_0 and tq2_0 kernels, shared by the AVX2 and AVX-VNNI backends: a block's codes
/// (0..2) decoded in registers, eight 32-byte int8 dots with the q8_K activations, less their sum (code - 1). GEMM
/// decodes each weight row once for the batch (decoded_rows).
#include "../../core/matmul.hpp"
#include "../../ref/ternary.hpp"
#include "common.hpp"
#include "byte_panel.hpp"
#include "int8_dot.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// tq2_0's codes (0..3 as stored; 2-bit fields) of weights 32k .. 32k + 31 in codes[k], as unsigned bytes.
LOWBIT_INLINE void ternary_codes(const tq2_0::block& w, __m256i (&codes)[8]) noexcept {
    const __m256i three = _mm256_set1_epi8(3);
    for (int n = 0; n < 2; ++n) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * n));
        for (int k = 0; k < 4; ++k)
            codes[4 * n + k] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), three);  // bits crossing bytes masked off
    }
}

/// The trit ((b * m mod 256) * 3) >> 8 of every byte b, m its multiplier: mul_lo holds the 16-bit multipliers of the
/// bytes vpunpcklbw widens (bytes 0..7 of each 128-bit half), mul_hi those of vpunpckhbw's (bytes 8..15); mulhi by
/// 768 = 3 << 8 takes the high byte of the product with 3.
LOWBIT_INLINE __m256i trits(__m256i b, __m256i mul_lo, __m256i mul_hi) noexcept {
    const __m256i zero = _mm256_setzero_si256(), low = _mm256_set1_epi16(0xFF), three = _mm256_set1_epi16(768);
    const __m256i lo = _mm256_mulhi_epu16(_mm256_and_si256(_mm256_mullo_epi16(_mm256_unpacklo_epi8(b, zero), mul_lo), low), three);
    const __m256i hi = _mm256_mulhi_epu16(_mm256_and_si256(_mm256_mullo_epi16(_mm256_unpackhi_epi8(b, zero), mul_hi), low), three);
    return _mm256_packus_epi16(lo, hi);  // unpack and pack keep the byte order
}

/// tq1_0's trits (0..2; format/tq1_0.hpp's order) of weights 32k .. 32k + 31 in codes[k]: qs[0..31]'s five planes;
/// qs[32..47]'s planes in pairs (weights 160..191 and 192..223); and its fifth plane beside qh's four (weights
/// 224..255: qh's 4 bytes repeated, each group of 4 with its own power).
LOWBIT_INLINE void ternary_codes(const tq1_0::block& w, __m256i (&codes)[8]) noexcept {
    const auto pow3 = [](short low_half, short high_half) { return _mm256_setr_m128i(_mm_set1_epi16(low_half), _mm_set1_epi16(high_half)); };
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs + 32));
    std::int32_t h;
    std::memcpy(&h, w.qh, 4);
    constexpr short power[5] = {1, 3, 9, 27, 81};
    for (int n = 0; n < 5; ++n) {
        const __m256i m = _mm256_set1_epi16(power[n]);
        codes[n] = trits(q0, m, m);
    }
    const __m256i q1q1 = _mm256_broadcastsi128_si256(q1);
    codes[5] = trits(q1q1, pow3(1, 3), pow3(1, 3));
    codes[6] = trits(q1q1, pow3(9, 27), pow3(9, 27));
    codes[7] = trits(_mm256_setr_m128i(q1, _mm_set1_epi32(h)),
                     _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 1, 1, 1, 1, 3, 3, 3, 3),
                     _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 9, 9, 9, 9, 27, 27, 27, 27));
}

/// tq1_0 and tq2_0 with q8_K, decoded_rows' Decoder (core/matmul.hpp), which their dot_blocks runs too: a block's
/// codes and d; term() is the exact isum = sum of code * a - sum of a, times (d_w * d_a), rounded: the reference's
/// float step. With vpmaddubsw's int16 pairs a lane adds 8 pairs of products of at most 3 * 128: no overflow.
template <class Dot>
struct ternary_decoder {
    struct decoded {
        __m256i codes[8];
        float d;
    };
    static constexpr float factor = 1.0f;
    static constexpr std::size_t sub_block = qk_k;
    template <class Block>
    static LOWBIT_INLINE void decode(const Block& w, decoded& out) noexcept {
        ternary_codes(w, out.codes);
        out.d = load_half1(w.d);
    }
    static LOWBIT_INLINE __m256i values(const decoded& w, int k) noexcept { return _mm256_sub_epi8(w.codes[k], _mm256_set1_epi8(1)); }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        __m256i p = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k)
            p = Dot::add_products(p, w.codes[k], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * k)));
        // Less the sum of a, from the block's bsums (which match its codes: format/q8_K.hpp). vpmaddubsw's int16 pair
        // sums take the bsums before one vpmaddwd widens both (|pair sum| <= 8 * 2 * 3 * 128, |bsum| <= 16 * 128).
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), one = _mm256_set1_epi16(1);
        const __m256i lanes = Dot::partial_max <= 32767
                                  ? _mm256_madd_epi16(_mm256_sub_epi16(p, bsums), one)
                                  : _mm256_sub_epi32(Dot::widen(p), _mm256_madd_epi16(bsums, one));
        const std::int32_t isum = hsum_epi32(lanes);
        return detail::rounded(static_cast<float>(isum) * (w.d * a.d.value()));
    }
};
template <class Fmt, class Dot>
struct decoder_for<Fmt, Dot, std::enable_if_t<ref::ternary_format<typename Fmt::block>::value>> {
    using type = ternary_decoder<Dot>;
};

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
