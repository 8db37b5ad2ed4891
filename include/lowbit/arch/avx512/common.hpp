#pragma once
/// \file arch/avx512/common.hpp
/// Helpers shared by the AVX-512 kernels (arch/avx512/q8.hpp, linear32.hpp): reductions, the reference's rounding
/// rules on 16 lanes, and the block-pair dot product driver.
///
/// Shape of the kernels: a block holds 32 values, i.e. two 512-bit float registers (quantize, dequantize), but
/// only 32 bytes of codes. The dot products therefore put two blocks in one 512-bit register (block j in
/// bytes 0-31, block j+1 in bytes 32-63), reduce four such registers to eight per-block integer sums at once,
/// and scale those with 256-bit float math. An odd last block is paired with itself and its copy weighted 0.
#include "../../format/q8_1.hpp"
#include "../../half.hpp"
#include "../../core/backends.hpp"
#include "intrin.hpp"

#include <cstddef>
#include <cstdint>
#include <type_traits>

LOWBIT_AVX512_KERNELS_BEGIN

LOWBIT_NAMESPACE_BEGIN namespace arch { namespace avx512_impl {

// ---------------------------------------------------------------------------------------------- float lanes

LOWBIT_INLINE __m512 abs_ps(__m512 v) noexcept {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}

// The two 256-bit halves of a 512-bit float register (AVX code, so no SIMDe shim is needed for reductions).
LOWBIT_INLINE __m256 low_half(__m512 v) noexcept { return _mm512_castps512_ps256(v); }
LOWBIT_INLINE __m256 high_half(__m512 v) noexcept {
    return _mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1));
}

// Lane-wise max (Max) or min, at each width used by reduce_extreme.
template <bool Max>
LOWBIT_INLINE __m512 extreme(__m512 x, __m512 y) noexcept {
    if constexpr (Max) return _mm512_max_ps(x, y);
    else return _mm512_min_ps(x, y);
}
template <bool Max>
LOWBIT_INLINE __m256 extreme(__m256 x, __m256 y) noexcept {
    if constexpr (Max) return _mm256_max_ps(x, y);
    else return _mm256_min_ps(x, y);
}
template <bool Max>
LOWBIT_INLINE __m128 extreme(__m128 x, __m128 y) noexcept {
    if constexpr (Max) return _mm_max_ps(x, y);
    else return _mm_min_ps(x, y);
}

/// Largest (Max) or smallest lane of a and b together. Finite input: the order of comparisons does not matter.
template <bool Max>
LOWBIT_INLINE float reduce_extreme(__m512 a, __m512 b) noexcept {
    const __m512 m = extreme<Max>(a, b);
    const __m256 h = extreme<Max>(low_half(m), high_half(m));
    __m128 r = extreme<Max>(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    r = extreme<Max>(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(extreme<Max>(r, _mm_movehdup_ps(r)));
}

/// Index (0..31) of the first lane of (lo, hi) equal to v. The reference keeps the first value on ties, which
/// decides the sign of the symmetric formats' absmax and the sign of a zero min or max.
/// Precondition: some lane equals v (bit 31 is a sentinel so that the result stays defined otherwise).
LOWBIT_INLINE int first_equal(__m512 lo, __m512 hi, float v) noexcept {
    const __m512 vv = _mm512_set1_ps(v);
    const std::uint32_t k = static_cast<std::uint32_t>(_mm512_cmp_ps_mask(lo, vv, _CMP_EQ_OQ)) |
                            static_cast<std::uint32_t>(_mm512_cmp_ps_mask(hi, vv, _CMP_EQ_OQ)) << 16;
    return __builtin_ctz(k | 0x80000000u);
}

/// float(x * y) + c: the product is rounded to float before the addition, never fused (the reference's rule).
LOWBIT_INLINE __m512 product_plus(__m512 x, __m512 y, __m512 c) noexcept {
    return _mm512_add_ps(detail::rounded(_mm512_mul_ps(x, y)), c);
}

/// C's roundf (half away from zero) of 16 floats, as int32. |p| < 2^31; otherwise INT32_MIN, as vcvttps2dq.
LOWBIT_INLINE __m512i round_half_away(__m512 p) noexcept {
    const __m512 t = _mm512_cvtepi32_ps(_mm512_cvttps_epi32(p));  // trunc(p)
    // The fraction p - trunc(p) is exact, with p's sign. (Adding 0.5 before truncating would round 0.49999997 up.)
    const __m512 frac = _mm512_sub_ps(p, t);
    const __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __mmask16 down = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(-0.5f), _CMP_LE_OQ);
    // One step away from zero, in float: exact where it happens (|t| < 2^23), and no int32 overflow.
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_cvttps_epi32(_mm512_mask_sub_ps(_mm512_mask_add_ps(t, up, t, one), down, t, one));
}

/// trunc(v) clamped to [0, max_code] (ref::truncated_code): clamped in float first, so NaN gives 0 (vmaxps
/// returns its second operand then) and huge values give max_code.
LOWBIT_INLINE __m512i clamped_code(__m512 v, int max_code) noexcept {
    const __m512 at_least_0 = _mm512_max_ps(v, _mm512_setzero_ps());
    return _mm512_cvttps_epi32(_mm512_min_ps(at_least_0, _mm512_set1_ps(static_cast<float>(max_code))));
}

// ------------------------------------------------------------------------------------------ integer lanes

/// Sum of 16 int32 lanes.
LOWBIT_INLINE std::int32_t reduce_add(__m512i v) noexcept {
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0x4E));  // + lanes (2, 3, 0, 1)
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0xB1));  // + lanes (1, 0, 3, 2)
    return _mm_cvtsi128_si32(r);
}

LOWBIT_INLINE __m128i load16(const void* p) noexcept { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
LOWBIT_INLINE __m256i load32(const void* p) noexcept { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
LOWBIT_INLINE void store16(void* p, __m128i v) noexcept { _mm_storeu_si128(static_cast<__m128i*>(p), v); }

/// Two 8-lane halves as one 16-lane vector.
LOWBIT_INLINE __m512i join(__m256i lo, __m256i hi) noexcept {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
LOWBIT_INLINE __m512 join(__m256 lo, __m256 hi) noexcept {
    return _mm512_castsi512_ps(join(_mm256_castps_si256(lo), _mm256_castps_si256(hi)));
}

/// 32 bytes from p0 in bytes 0-31 and 32 bytes from p1 in bytes 32-63.
LOWBIT_INLINE __m512i load_pair(const void* p0, const void* p1) noexcept {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load32(p0)), load32(p1), 1);
}

/// Per-lane int32 products of a block pair -> integer dot products, with codes u (u8, block j in bytes 0-31,
/// block j+1 in bytes 32-63) against activations a (s8, same layout), minus offset * sum(a) per block:
/// isum = sum (u - offset) * a. Lanes 0-7 sum to block j's isum, lanes 8-15 to block j+1's.
/// vpmaddubsw saturates u8*s8 pairs at int16, so the BW form needs u, offset <= 31 (here 4/5-bit codes).
template <int Offset>
LOWBIT_INLINE __m512i pair_sums_bw(__m512i u, __m512i a) noexcept {
    static_assert(Offset >= 0 && Offset <= 31, "vpmaddubsw is exact only for small unsigned codes");
    __m512i p = _mm512_maddubs_epi16(u, a);
    if constexpr (Offset != 0) p = _mm512_sub_epi16(p, _mm512_maddubs_epi16(_mm512_set1_epi8(Offset), a));
    return _mm512_madd_epi16(p, _mm512_set1_epi16(1));
}
#if LOWBIT_HAVE_AVX512_VNNI
/// The same with vpdpbusd, which accumulates in int32 without saturation: any u8 codes, offset up to 255.
template <int Offset>
LOWBIT_INLINE __m512i pair_sums_vnni(__m512i u, __m512i a) noexcept {
    static_assert(Offset >= 0 && Offset <= 255, "the offset is a u8 operand");
    const __m512i zero = _mm512_setzero_si512();
    __m512i s = _mm512_dpbusd_epi32(zero, u, a);
    if constexpr (Offset != 0)
        s = _mm512_sub_epi32(s, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(static_cast<char>(Offset)), a));
    return s;
}
#endif

/// Eight per-block sums from four pair registers (v_p: lanes 0-7 belong to block 2p, lanes 8-15 to 2p+1), in
/// the order blocks 0, 2, 4, 6, 1, 3, 5, 7.
LOWBIT_INLINE __m256i block_sums(__m512i v0, __m512i v1, __m512i v2, __m512i v3) noexcept {
    // Per 128-bit lane L: t01 = (v0[0]+v0[2], v1[0]+v1[2], v0[1]+v0[3], v1[1]+v1[3]), likewise t23.
    const __m512i t01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    const __m512i t23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    // Per 128-bit lane L: (sum of v0's four lanes in L, v1's, v2's, v3's).
    const __m512i u = _mm512_add_epi32(_mm512_unpacklo_epi64(t01, t23), _mm512_unpackhi_epi64(t01, t23));
    // Block 2p is 128-bit lanes 0 + 1, block 2p+1 is lanes 2 + 3.
    const __m512i s = _mm512_add_epi32(_mm512_shuffle_i32x4(u, u, 0x88), _mm512_shuffle_i32x4(u, u, 0xDD));
    return _mm512_castsi512_si256(s);
}

/// fp16 scales of eight blocks, in block_sums' order; blocks that do not exist keep 0.
template <bool HasMin>
struct group_scales {
    alignas(16) std::uint16_t wd[8] = {}, ad[8] = {}, wm[8] = {}, as[8] = {};

    template <class WBlock, class ABlock>
    void set(int pos, const WBlock& w, const ABlock& a) noexcept {
        wd[pos] = w.d.bits();
        ad[pos] = a.d.bits();
        if constexpr (HasMin) {
            wm[pos] = w.m.bits();
            as[pos] = a.s.bits();
        }
    }
    /// isum * (d_w * d_a) [+ m_w * s_a] for the eight blocks (vcvtph2ps is exact for finite halves).
    __m256 terms(__m256i isums) const noexcept {
        const __m256 dd = _mm256_mul_ps(_mm256_cvtph_ps(load16(wd)), _mm256_cvtph_ps(load16(ad)));
        __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(isums), dd);
        if constexpr (HasMin)
            t = _mm256_add_ps(t, _mm256_mul_ps(_mm256_cvtph_ps(load16(wm)), _mm256_cvtph_ps(load16(as))));
        return t;
    }
};

/// Sum over blocks of isum_b * (d_w * d_a) (+ m_w * s_a for q8_1 activations), where
/// pair_sums(w[j], a[j], w[k], a[k]) returns the int32 lanes of blocks j and k as pair_sums_bw does.
/// Integer block sums are exact; the float sum is reassociated (within the bound the tests check).
template <class WBlock, class ABlock, class PairSums>
inline float dot_by_pairs(const WBlock* w, const ABlock* a, std::size_t nblocks, PairSums pair_sums) noexcept {
    constexpr bool has_min = std::is_same<ABlock, q8_1::block>::value;  // the _1 weight formats
    __m256 acc = _mm256_setzero_ps();
    for (std::size_t b = 0; b < nblocks; b += 8) {
        __m512i v[4];
        group_scales<has_min> scales;
        for (int p = 0; p < 4; ++p) {
            const std::size_t j = b + 2 * static_cast<std::size_t>(p);
            if (j >= nblocks) {
                v[p] = _mm512_setzero_si512();
                continue;
            }
            const bool pair = j + 1 < nblocks;
            const std::size_t k = pair ? j + 1 : j;  // an odd last block is paired with itself; scale 0 for the copy
            v[p] = pair_sums(w[j], a[j], w[k], a[k]);
            scales.set(p, w[j], a[j]);
            if (pair) scales.set(p + 4, w[k], a[k]);
        }
        acc = _mm256_add_ps(acc, scales.terms(block_sums(v[0], v[1], v[2], v[3])));
    }
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)));
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::avx512_impl

LOWBIT_AVX512_KERNELS_END
