#pragma once
/// \file arch/x86/common.hpp
/// Helpers shared by the 256-bit x86 kernels (of the AVX2 and AVX-VNNI backends, and some of AVX-512's): loading
/// a 32-value block, exact block statistics (the same element the reference picks on ties), packing codes into
/// bytes, unpacking nibbles and high bits, and the dot-product driver that reduces 8 blocks at a time. Requires
/// -mavx2 -mfma -mf16c.
///
/// Float arithmetic uses xsimd batches; integer dot products, packing and fp16 conversion use intrinsics,
/// which xsimd 8.1 does not wrap (maddubs, shuffles, F16C).
#include "../../half.hpp"
#include "../../core/backends.hpp"
#include "../../ref/common.hpp"

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include <cstring>
#include <utility>

LOWBIT_NAMESPACE_BEGIN namespace arch { namespace x86_impl {

using detail::unroll;

using fbatch = xsimd::batch<float, xsimd::avx2>;

/// The 32 floats of one block, as four batches of 8 (x need only be float-aligned).
struct block_f32 {
    fbatch v[4];
    explicit block_f32(const float* x) noexcept
        : v{fbatch::load_unaligned(x), fbatch::load_unaligned(x + 8), fbatch::load_unaligned(x + 16),
            fbatch::load_unaligned(x + 24)} {}
};

/// detail::rounded for xsimd's batch, through its register (a class would be fenced in memory).
LOWBIT_INLINE fbatch rounded(fbatch v) noexcept { return fbatch(detail::rounded(static_cast<__m256>(v))); }

/// Horizontal max / min of 8 lanes (finite inputs).
LOWBIT_INLINE float hmax(__m256 v) noexcept {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
LOWBIT_INLINE float hmin(__m256 v) noexcept {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

/// Index of the first of the 32 values whose lane is true in m (at least one must be).
LOWBIT_INLINE int first_true(const xsimd::batch_bool<float, xsimd::avx2> (&m)[4]) noexcept {
    const unsigned bits = static_cast<unsigned>(_mm256_movemask_ps(m[0])) |
                          static_cast<unsigned>(_mm256_movemask_ps(m[1])) << 8 |
                          static_cast<unsigned>(_mm256_movemask_ps(m[2])) << 16 |
                          static_cast<unsigned>(_mm256_movemask_ps(m[3])) << 24;
    return __builtin_ctz(bits);
}

/// The element of x that the reference's strict-comparison scan keeps as its extreme: the first one equal to
/// `extreme`. Only a zero can differ from `extreme` itself (+0 and -0 compare equal), so only zeros are looked up.
LOWBIT_INLINE float first_equal(const float* x, const block_f32& b, float extreme) noexcept {
    if (extreme != 0.0f) return extreme;
    const fbatch zero(0.0f);
    const xsimd::batch_bool<float, xsimd::avx2> m[4] = {b.v[0] == zero, b.v[1] == zero, b.v[2] == zero,
                                                         b.v[3] == zero};
    return x[first_true(m)];
}

/// Largest |x| of the block.
LOWBIT_INLINE float max_abs(const block_f32& b) noexcept {
    using xsimd::abs;
    return hmax(xsimd::max(xsimd::max(abs(b.v[0]), abs(b.v[1])), xsimd::max(abs(b.v[2]), abs(b.v[3]))));
}

/// As ref::find_signed_absmax: the first value of largest magnitude, or +0 for an all-zero block.
LOWBIT_INLINE float signed_absmax(const float* x, const block_f32& b) noexcept {
    const float amax = max_abs(b);
    if (amax == 0.0f) return 0.0f;
    const fbatch a[4] = {xsimd::abs(b.v[0]), xsimd::abs(b.v[1]), xsimd::abs(b.v[2]), xsimd::abs(b.v[3])};
    const fbatch m(amax);
    const xsimd::batch_bool<float, xsimd::avx2> eq[4] = {a[0] == m, a[1] == m, a[2] == m, a[3] == m};
    return x[first_true(eq)];
}

/// Truncates to int32 (cvttps2dq), as static_cast<int> does for in-range floats.
LOWBIT_INLINE __m256i trunc_to_int(fbatch v) noexcept { return _mm256_cvttps_epi32(v); }

/// The 32 int32 codes (8 per vector) as bytes in order; every code must lie in [-128, 127].
LOWBIT_INLINE __m256i pack_bytes(const __m256i (&q)[4]) noexcept {
    // packs works within 128-bit lanes: the dwords come out as q0[0:4] q1[0:4] q2[0:4] q3[0:4] q0[4:8] ...
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// 32 code bytes (0..31) into the nibble layout: qs[j] = low nibble of code j | low nibble of code j+16 << 4.
LOWBIT_INLINE void store_nibbles(__m256i codes, std::uint8_t* qs) noexcept {
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(_mm256_castsi256_si128(codes), low4);
    const __m128i hi = _mm_and_si128(_mm256_extracti128_si256(codes, 1), low4);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
}

/// Bit 4 of each of 32 code bytes (0..31) into qh, little-endian: bit i = code i >> 4.
LOWBIT_INLINE void store_high_bits(__m256i codes, std::uint8_t* qh) noexcept {
    // A 16-bit shift by 3 moves bit 4 of each byte to bit 7; the bits that cross into the next byte are zero.
    const std::uint32_t h = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi16(codes, 3)));
    std::memcpy(qh, &h, 4);
}

/// The 32 4-bit codes of a nibble block as bytes in weight order: bytes 0-15 the low nibbles, 16-31 the high.
LOWBIT_INLINE __m256i unpack_nibbles(const std::uint8_t* qs) noexcept {
    // The 16 bytes in both halves, the upper half shifted right by 4 (a 64-bit shift: the bits that cross
    // into a neighbouring byte are masked off).
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
    return _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}

/// qh's 32 bits as bytes: byte i = 0x10 if bit i is set, else 0 (the fifth code bit, in place).
LOWBIT_INLINE __m256i unpack_high_bits(const std::uint8_t* qh) noexcept {
    std::uint32_t h;
    std::memcpy(&h, qh, 4);
    // Byte i gets qh byte i / 8, then tests its bit i % 8.
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(h)),
                                               _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                                                2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

/// The 8 bytes at p, as signed or unsigned integers converted (exactly) to float.
template <bool Signed>
LOWBIT_INLINE fbatch bytes_to_float(const void* p) noexcept {
    const __m128i v = _mm_loadl_epi64(static_cast<const __m128i*>(p));
    return fbatch(_mm256_cvtepi32_ps(Signed ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v)));
}

/// The fp16 field `Field` of 8 consecutive blocks, as 8 floats (F16C conversion: exact, like fp16_to_fp32).
template <auto Field, class Block>
LOWBIT_INLINE __m256 load_halves8(const Block* b) noexcept {
    auto h = [b](int k) { return static_cast<short>((b[k].*Field).bits()); };
    return _mm256_cvtph_ps(_mm_setr_epi16(h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7)));
}

/// The scales of 8 consecutive weight blocks as floats: the fp16 field d (F16C), or Fmt::scale for a format that
/// stores its scale otherwise (mxfp4's exponent byte).
template <class WBlock>
LOWBIT_INLINE __m256 weight_scales8(const WBlock* w) noexcept {
    if constexpr (ref::half_scale<WBlock>::value) {
        return load_halves8<&WBlock::d>(w);
    } else {
        using Fmt = typename WBlock::format;
        return _mm256_setr_ps(Fmt::scale(w[0]), Fmt::scale(w[1]), Fmt::scale(w[2]), Fmt::scale(w[3]), Fmt::scale(w[4]),
                              Fmt::scale(w[5]), Fmt::scale(w[6]), Fmt::scale(w[7]));
    }
}

/// One fp16 field as a float, and a float into one (F16C, round to nearest even: the same bits as
/// load_half / store_half).
LOWBIT_INLINE float load_half1(const half_bytes& h) noexcept {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h.bits())));
}
LOWBIT_INLINE void store_half1(half_bytes& h, float f) noexcept {
    h.set_bits(static_cast<std::uint16_t>(_mm_cvtsi128_si32(_mm_cvtps_ph(_mm_set_ss(f), 0))));
}

/// Sums each of 8 vectors of 8 int32 partial sums: lane k of the result is the total of p[k].
LOWBIT_INLINE __m256i reduce8(const __m256i (&p)[8]) noexcept {
    // Two rounds of hadd leave, per 128-bit lane, the low-half and high-half sums of four blocks.
    const __m256i q0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const __m256i q1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20), _mm256_permute2x128_si256(q0, q1, 0x31));
}

/// Sum over blocks of isum_b * (d_w * d_a), plus m_w * s_a when HasMin (q4_1/q5_1 with q8_1), where
/// block_isum(w, a) returns 8 int32 lanes whose total is block b's exact integer sum. Blocks are taken 8 at a
/// time: their sums are reduced exactly in integers, converted once and scaled with one FMA; a tail of fewer
/// than 8 blocks runs the same code on zero-padded copies (zero scales contribute nothing).
template <bool HasMin, class WBlock, class ABlock, class BlockIsum>
inline float dot_driver(const WBlock* w, const ABlock* a, std::size_t nblocks, BlockIsum block_isum) noexcept {
    fbatch acc(0.0f), acc_min(0.0f);
    WBlock wt[8];
    ABlock at[8];
    for (std::size_t b = 0; b < nblocks; b += 8) {
        const WBlock* w8 = w + b;
        const ABlock* a8 = a + b;
        if (nblocks - b < 8) {
            const std::size_t r = nblocks - b;
            std::memset(static_cast<void*>(wt), 0, sizeof(wt));
            std::memset(static_cast<void*>(at), 0, sizeof(at));
            std::memcpy(static_cast<void*>(wt), w8, r * sizeof(WBlock));
            std::memcpy(static_cast<void*>(at), a8, r * sizeof(ABlock));
            w8 = wt;
            a8 = at;
        }
        const __m256i p[8] = {block_isum(w8[0], a8[0]), block_isum(w8[1], a8[1]), block_isum(w8[2], a8[2]),
                              block_isum(w8[3], a8[3]), block_isum(w8[4], a8[4]), block_isum(w8[5], a8[5]),
                              block_isum(w8[6], a8[6]), block_isum(w8[7], a8[7])};
        const fbatch scale = fbatch(weight_scales8(w8)) * fbatch(load_halves8<&ABlock::d>(a8));
        acc = xsimd::fma(fbatch(_mm256_cvtepi32_ps(reduce8(p))), scale, acc);
        if constexpr (HasMin)
            acc_min = xsimd::fma(fbatch(load_halves8<&WBlock::m>(w8)), fbatch(load_halves8<&ABlock::s>(a8)), acc_min);
    }
    return xsimd::hadd(acc + acc_min);
}

/// v[j] = dword j of every v[k] (dword k of the result) for j, k < 8: an 8 x 8 transpose of 32-bit elements.
LOWBIT_INLINE void transpose_dwords(__m256i (&v)[8]) noexcept {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
        u[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
        v[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
    }
}

/// v[j]: bytes 32k .. 32k + 31 of row 8 half + j. Stored as lines of 4 bytes per row (bytes 4g .. 4g + 3 of row r at
/// lines + 64 g + 4 r), the layout of byte panels and of the K packer's codes, by one transpose.
LOWBIT_INLINE void store_row_groups(__m256i (&v)[8], int k, std::size_t half, unsigned char* lines) noexcept {
    transpose_dwords(v);
    for (int g = 0; g < 8; ++g) _mm256_storeu_si256(reinterpret_cast<__m256i*>(lines + 64 * (8 * k + g) + 32 * half), v[g]);
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::x86_impl
