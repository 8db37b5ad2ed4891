#pragma once
/// \file arch/x86/int8_dot.hpp
/// The int8 dot product of the 256-bit x86 drivers (linear32.hpp, kquant.hpp, gemm.hpp), which take it as a
/// template parameter Dot: unsigned bytes u times signed bytes s, the four products of each dword summed into
/// that int32 lane (vpdpbusd's definition).
///   maddubs_dot  AVX2: vpmaddubsw (products summed in pairs into int16, saturating), then vpmaddwd
///   dpbusd_dot   AVX-VNNI: vpdpbusd on ymm, exact for every byte (only where LOWBIT_HAVE_AVX_VNNI)
///
/// Both provide:
///   dot(acc, u, s)            acc + the four products of lane i, in int32 lane i
///   add_products(p, u, s)     p + the products, in the partial sums the instruction forms: int16 pairs for
///                             vpmaddubsw, int32 quads for vpdpbusd; exact while every partial lane stays within
///                             partial_max, and each holds products_per_lane products per call
///   widen(p)                  partial sums as int32 quads
///   widen_scaled(p, w)        int32 lane i = quad i times w_i, for w = weights(v) where v's int16 halves of each
///                             dword are equal; p's lanes must fit int16 (vpmaddwd reads 16-bit halves)
/// The drivers bound their codes so that maddubs_dot is exact: then both give the same integers.
#include "common.hpp"

#include <cstdint>

LOWBIT_NAMESPACE_BEGIN namespace arch { namespace x86_impl {

/// AVX2: exact only while every sum of two adjacent products u0 * s0 + u1 * s1 fits int16.
struct maddubs_dot {
    static constexpr std::int64_t partial_max = 32767;
    static constexpr int products_per_lane = 2;
    static LOWBIT_INLINE __m256i widen(__m256i p) noexcept { return _mm256_madd_epi16(p, _mm256_set1_epi16(1)); }
    static LOWBIT_INLINE __m256i dot(__m256i acc, __m256i u, __m256i s) noexcept {
        return _mm256_add_epi32(acc, widen(_mm256_maddubs_epi16(u, s)));
    }
    static LOWBIT_INLINE __m256i add_products(__m256i p, __m256i u, __m256i s) noexcept {
        return _mm256_add_epi16(p, _mm256_maddubs_epi16(u, s));
    }
    static LOWBIT_INLINE __m256i weights(__m256i w) noexcept { return w; }
    static LOWBIT_INLINE __m256i widen_scaled(__m256i p, __m256i w) noexcept { return _mm256_madd_epi16(p, w); }
};

#if LOWBIT_HAVE_AVX_VNNI
/// AVX-VNNI: exact for every byte (int32 lanes, wrapping).
struct dpbusd_dot {
    static constexpr std::int64_t partial_max = INT32_MAX;
    static constexpr int products_per_lane = 4;
    static LOWBIT_INLINE __m256i dot(__m256i acc, __m256i u, __m256i s) noexcept {
#if defined(LOWBIT_AVX_VNNI_EMULATE)
        // Tests only, in AVX2: the even and the odd bytes of each dword widened to int16 (u zero-, s sign-extended),
        // multiplied and pair-summed by vpmaddwd (|sum| <= 2 * 255 * 128: exact), then added.
        const __m256i u_even = _mm256_and_si256(u, _mm256_set1_epi16(0x00FF)), u_odd = _mm256_srli_epi16(u, 8);
        const __m256i s_even = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8), s_odd = _mm256_srai_epi16(s, 8);
        const __m256i quads = _mm256_add_epi32(_mm256_madd_epi16(u_even, s_even), _mm256_madd_epi16(u_odd, s_odd));
        return _mm256_add_epi32(acc, quads);
#else
        return _mm256_dpbusd_avx_epi32(acc, u, s);
#endif
    }
    static LOWBIT_INLINE __m256i add_products(__m256i p, __m256i u, __m256i s) noexcept { return dot(p, u, s); }
    static LOWBIT_INLINE __m256i widen(__m256i p) noexcept { return p; }
    /// Each dword's low half, zero-extended: vpmaddwd then multiplies the quad's low 16 bits (all of it) alone.
    static LOWBIT_INLINE __m256i weights(__m256i w) noexcept { return _mm256_and_si256(w, _mm256_set1_epi32(0xFFFF)); }
    static LOWBIT_INLINE __m256i widen_scaled(__m256i p, __m256i w) noexcept { return _mm256_madd_epi16(p, w); }
};
#endif

/// 8 int32 lanes summing to the exact sum of v * a over 32 signed bytes v (|v| <= 127) and 32 int8 activations at
/// aq, with the int8 dot Dot: the sign of each activation moves onto v (|a| <= 128 fits the unsigned operand,
/// negating v cannot wrap, and a pair of products stays below 2^15 for vpmaddubsw).
template <class Dot>
LOWBIT_INLINE __m256i signed_dot(__m256i v, const std::int8_t* aq) noexcept {
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq));
    return Dot::dot(_mm256_setzero_si256(), _mm256_abs_epi8(act), _mm256_sign_epi8(v, act));
}

/// The sum of the 8 int32 lanes.
LOWBIT_INLINE std::int32_t hsum_epi32(__m256i v) noexcept {
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    return _mm_cvtsi128_si32(h);
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::x86_impl
