#pragma once
/// \file arch/x86/ternary.hpp
/// The 256-bit x86 pieces of the tq1_0 and tq2_0 kernels, shared by the AVX2 and AVX-VNNI backends: a block's
/// 256 weights decoded to signed bytes (code - 1), then eight 32-byte int8 dots against the q8_K activations.
#include "../../ref/ternary.hpp"
#include "common.hpp"
#include "int8_dot.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// tq2_0: the 2-bit fields, minus 1, into v[0..255] in weight order.
LOWBIT_INLINE void ternary_values(const tq2_0::block& b, std::int8_t* v) noexcept {
    const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    for (int n = 0; n < 2; ++n) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * n));
        for (int k = 0; k < 4; ++k) {
            const __m256i c = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), three);  // bits crossing bytes masked off
            _mm256_store_si256(reinterpret_cast<__m256i*>(v + 128 * n + 32 * k), _mm256_sub_epi8(c, one));
        }
    }
}

/// Trit n of every byte: ((b * 3^n mod 256) * 3) >> 8, in 16-bit lanes (mulhi by 768 = 3 << 8), minus 1.
LOWBIT_INLINE __m256i trit_values(__m256i b, short pow3) noexcept {
    const __m256i zero = _mm256_setzero_si256(), low = _mm256_set1_epi16(0xFF), three = _mm256_set1_epi16(768);
    const __m256i p = _mm256_set1_epi16(pow3);
    const __m256i lo = _mm256_mulhi_epu16(_mm256_and_si256(_mm256_mullo_epi16(_mm256_unpacklo_epi8(b, zero), p), low), three);
    const __m256i hi = _mm256_mulhi_epu16(_mm256_and_si256(_mm256_mullo_epi16(_mm256_unpackhi_epi8(b, zero), p), low), three);
    return _mm256_sub_epi8(_mm256_packus_epi16(lo, hi), _mm256_set1_epi8(1));  // unpack and pack keep byte order
}
LOWBIT_INLINE __m128i trit_values(__m128i b, short pow3) noexcept {
    const __m128i zero = _mm_setzero_si128(), low = _mm_set1_epi16(0xFF), three = _mm_set1_epi16(768);
    const __m128i p = _mm_set1_epi16(pow3);
    const __m128i lo = _mm_mulhi_epu16(_mm_and_si128(_mm_mullo_epi16(_mm_unpacklo_epi8(b, zero), p), low), three);
    const __m128i hi = _mm_mulhi_epu16(_mm_and_si128(_mm_mullo_epi16(_mm_unpackhi_epi8(b, zero), p), low), three);
    return _mm_sub_epi8(_mm_packus_epi16(lo, hi), _mm_set1_epi8(1));
}

/// tq1_0: the trits, minus 1, into v[0..255] in weight order (format/tq1_0.hpp).
LOWBIT_INLINE void ternary_values(const tq1_0::block& b, std::int8_t* v) noexcept {
    constexpr short pow3[5] = {1, 3, 9, 27, 81};
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32));
    std::int32_t h;
    std::memcpy(&h, b.qh, 4);
    const __m128i q2 = _mm_cvtsi32_si128(h);
    for (int n = 0; n < 5; ++n) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(v + 32 * n), trit_values(q0, pow3[n]));
        _mm_store_si128(reinterpret_cast<__m128i*>(v + 160 + 16 * n), trit_values(q1, pow3[n]));
    }
    for (int n = 0; n < 4; ++n) {
        const std::int32_t t = _mm_cvtsi128_si32(trit_values(q2, pow3[n]));
        std::memcpy(v + 240 + 4 * n, &t, 4);
    }
}

/// With q8_K activations: per super-block the exact isum = sum of (code - 1) * a, then sum += float(isum) *
/// (d_w * d_a) in block order: the reference's float steps, so its result bit for bit.
template <class Dot, class Block>
inline float ternary_dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks) noexcept {
    alignas(32) std::int8_t v[256];
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        ternary_values(w[b], v);
        __m256i acc = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s)
            acc = _mm256_add_epi32(acc, signed_dot<Dot>(_mm256_load_si256(reinterpret_cast<const __m256i*>(v + 32 * s)),
                                                        a[b].qs + 32 * s));
        sum += detail::rounded(static_cast<float>(hsum_epi32(acc)) * (load_half1(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
