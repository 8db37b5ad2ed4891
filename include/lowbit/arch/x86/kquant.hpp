#pragma once
/// \file arch/x86/kquant.hpp
/// The 256-bit x86 pieces of the K-quant kernels (q2_K, q3_K, q4_K, q5_K, q6_K with q8_K), shared by the AVX2 and
/// AVX-VNNI backends and by AVX-512's decoder: the code and scale decoders, and dot_blocks with exact integer
/// block sums and the reference's float step (ref/kquant.hpp).
///
/// The five weight formats share one code path. A super-block is read as 8 chunks of 32 weights (chunk c holds
/// weights 32c .. 32c + 31, the 16-weight groups 2c and 2c + 1 that q8_K's bsums cover): kblock<Block> decodes
/// a chunk's unsigned codes into 32 bytes in weight order with shifts and masks, and the sub-block scales (and
/// mins) into one int16 per 16-weight group. Then, per chunk, the int8 dot (int8_dot.hpp: vpmaddubsw or
/// vpdpbusd) multiplies the codes by the q8_K bytes and vpmaddwd weights its sums by the group scales.
#include "../../ref/kquant.hpp"
#include "common.hpp"
#include "int8_dot.hpp"

#include <utility>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

LOWBIT_INLINE __m256i load32(const void* p) noexcept { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

/// Bits From .. From + Width - 1 of every byte moved to bits To .. To + Width - 1, the other bits cleared.
template <int From, int To, int Width>
LOWBIT_INLINE __m256i move_bits(__m256i v) noexcept {
    // A 16-bit shift: every bit that lands inside the mask comes from bits From.. of the same byte, since
    // From + Width <= 8; bits crossing into the neighbouring byte land outside the mask.
    static_assert(From + Width <= 8 && To + Width <= 8, "fields must lie within a byte");
    __m256i s = v;
    if constexpr (To > From) s = _mm256_slli_epi16(v, To - From);
    if constexpr (To < From) s = _mm256_srli_epi16(v, From - To);
    return _mm256_and_si256(s, _mm256_set1_epi8(static_cast<char>(((1 << Width) - 1) << To)));
}

/// The sub-block scales and mins of a K block, one int16 per 16-weight group (a 32-weight sub-block's value
/// twice). m is zero for the symmetric formats.
struct group_scales {
    __m256i sc, m;
};

/// Per-format decoding: codes<C>(b) gives chunk C's 32 unsigned codes as bytes in weight order; scales(b) the
/// group scales. The layouts are documented in format/q2_K.hpp ... format/q6_K.hpp.
template <class Block>
struct kblock;

template <>
struct kblock<q2_K::block> {
    /// Chunk C = 4g + k: bits 2k..2k+1 of qs[32g .. 32g + 31].
    template <int C>
    static LOWBIT_INLINE __m256i codes(const q2_K::block& b) noexcept {
        return move_bits<2 * (C % 4), 0, 2>(load32(b.qs + 32 * (C / 4)));
    }
    static LOWBIT_INLINE group_scales scales(const q2_K::block& b) noexcept {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
        const __m128i low4 = _mm_set1_epi8(0x0F);
        return {_mm256_cvtepu8_epi16(_mm_and_si128(bytes, low4)),
                _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(bytes, 4), low4))};
    }
};

template <>
struct kblock<q3_K::block> {
    /// Bits 0-1 as q2_K; bit 2 of chunk C is bit C of hmask[0 .. 31].
    template <int C>
    static LOWBIT_INLINE __m256i codes(const q3_K::block& b) noexcept {
        return _mm256_or_si256(move_bits<2 * (C % 4), 0, 2>(load32(b.qs + 32 * (C / 4))),
                               move_bits<C, 2, 1>(load32(b.hmask)));
    }
    static LOWBIT_INLINE group_scales scales(const q3_K::block& b) noexcept {
        std::uint64_t low_bytes;
        std::uint32_t high_bytes;
        std::memcpy(&low_bytes, b.scales, 8);
        std::memcpy(&high_bytes, b.scales + 8, 4);
        // Bits 0-3 of S_s: the low nibbles of scales[0..7] (s < 8), then their high nibbles (s >= 8).
        const __m128i l = _mm_cvtsi64_si128(static_cast<long long>(low_bytes));
        const __m128i low = _mm_and_si128(_mm_unpacklo_epi64(l, _mm_srli_epi64(l, 4)), _mm_set1_epi8(0x0F));
        // Bits 4-5: dword j = scales[8..11] >> 2j, so byte s % 4 of dword s / 4 has them in bits 0-1.
        const __m128i h = _mm_srlv_epi32(_mm_set1_epi32(static_cast<int>(high_bytes)), _mm_setr_epi32(0, 2, 4, 6));
        const __m128i high = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi8(3)), 4);
        const __m128i sc = _mm_sub_epi8(_mm_or_si128(low, high), _mm_set1_epi8(32));
        return {_mm256_cvtepi8_epi16(sc), _mm256_setzero_si256()};
    }
};

/// q4_K and q5_K: nibbles (plus q5_K's fifth bit) and the 6-bit scale/min pairs.
template <class Block, bool FifthBit>
struct kblock_4_5 {
    /// Chunk C = 2g + h: nibble h of qs[32g .. 32g + 31]; q5_K's bit 4 is bit C of qh[0 .. 31].
    template <int C>
    static LOWBIT_INLINE __m256i codes(const Block& b) noexcept {
        const __m256i low = move_bits<4 * (C % 2), 0, 4>(load32(b.qs + 32 * (C / 2)));
        if constexpr (FifthBit) return _mm256_or_si256(low, move_bits<C, 4, 1>(load32(b.qh)));
        else return low;
    }
    static LOWBIT_INLINE group_scales scales(const Block& b) noexcept {
        const auto [sc_low, sc_high, m_low, m_high] = detail::scales_6bit_pairs::unpack_words(b.scales);
        // Each sub-block covers two groups: every byte twice.
        auto groups = [](std::uint32_t low, std::uint32_t high) {
            const __m128i v = _mm_setr_epi32(static_cast<int>(low), static_cast<int>(high), 0, 0);
            return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(v, v));
        };
        return {groups(sc_low, sc_high), groups(m_low, m_high)};
    }
};
template <>
struct kblock<q4_K::block> : kblock_4_5<q4_K::block, false> {};
template <>
struct kblock<q5_K::block> : kblock_4_5<q5_K::block, true> {};

template <>
struct kblock<q6_K::block> {
    /// Chunk C = 4g + k: bits 0-3 are nibble k / 2 of ql[64g + 32(k % 2) ..], bits 4-5 are bits 2k..2k+1 of
    /// qh[32g .. 32g + 31].
    template <int C>
    static LOWBIT_INLINE __m256i codes(const q6_K::block& b) noexcept {
        constexpr int g = C / 4, k = C % 4;
        return _mm256_or_si256(move_bits<4 * (k / 2), 0, 4>(load32(b.ql + 64 * g + 32 * (k % 2))),
                               move_bits<2 * k, 4, 2>(load32(b.qh + 32 * g)));
    }
    static LOWBIT_INLINE group_scales scales(const q6_K::block& b) noexcept {
        return {_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales))),
                _mm256_setzero_si256()};
    }
};

/// A K block times a q8_K block: 8 int32 lanes summing to isum, and 8 summing to msum (zero without mins), as
/// defined by the reference's dot_blocks.
struct kblock_sums {
    __m256i isum, msum;
};

/// A K block decoded for products with q8_K blocks: chunk c's 32 unsigned codes, the int16 group scales that
/// weight its int8 dot's sums (words 0-7: group 2c, words 8-15: group 2c + 1, as Dot::weights gives them), and
/// the group scales and mins for the bsums terms.
struct kblock_decoded {
    __m256i codes[8], scale[8];
    group_scales s;
};

/// The bsums terms of a block's sums: isum -= Z * sum_g sc_g * bsum_g (symmetric formats), msum = sum_g m_g * bsum_g.
template <class Block>
LOWBIT_INLINE kblock_sums add_bsums_terms(__m256i isum, const group_scales& s, const q8_K::block& a) noexcept {
    using traits = ref::kquant<Block>;
    const __m256i bsums = load32(a.bsums);
    if constexpr (traits::zero != 0)
        isum = _mm256_sub_epi32(isum, _mm256_mullo_epi32(_mm256_madd_epi16(bsums, s.sc), _mm256_set1_epi32(traits::zero)));
    const __m256i msum = traits::has_min ? _mm256_madd_epi16(bsums, s.m) : _mm256_setzero_si256();
    return {isum, msum};
}

/// How the 256-bit kernels take a K block times q8_K blocks with the int8 dot Dot: decode it once, then dot it
/// with each activation block. The GEMM kernel (gemm.hpp) decodes a block once for several activation rows; a
/// backend with wider vectors brings its own decoder (arch/avx512/kquant.hpp).
template <class Dot>
struct kdecoder_ymm {
    template <class Block>
    static LOWBIT_INLINE kblock_decoded decode(const Block& w) noexcept {
        kblock_decoded d;
        d.s = kblock<Block>::scales(w);
        // Chunk c weights its lanes 0-7 by group 2c's scale and lanes 8-15 by group 2c + 1's: from the 128-bit
        // half that holds groups 0-7 (c < 4) or 8-15, broadcast to both halves, pick words 2(c % 4), 2(c % 4) + 1.
        const __m256i half_scales[2] = {_mm256_permute2x128_si256(d.s.sc, d.s.sc, 0x00),
                                        _mm256_permute2x128_si256(d.s.sc, d.s.sc, 0x11)};
        unroll<8>([&](auto chunk) {
            constexpr int c = decltype(chunk)::value, k = c % 4;
            const __m256i pick = _mm256_setr_m128i(_mm_set1_epi16(static_cast<short>((4 * k + 1) << 8 | 4 * k)),
                                                   _mm_set1_epi16(static_cast<short>((4 * k + 3) << 8 | (4 * k + 2))));
            d.scale[c] = Dot::weights(_mm256_shuffle_epi8(half_scales[c / 4], pick));
            d.codes[c] = kblock<Block>::template codes<c>(w);
        });
        return d;
    }

    template <class Block>
    static LOWBIT_INLINE kblock_sums dot(const kblock_decoded& w, const q8_K::block& a) noexcept {
        __m256i acc[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        unroll<8>([&](auto chunk) {
            constexpr int c = decltype(chunk)::value;
            // 6-bit codes times any activation byte: |pair| <= 2 * 63 * 128 = 16128, so vpmaddubsw never
            // saturates, and |quad| <= 32256 fits the 16 bits that widen_scaled reads.
            const __m256i sums = Dot::add_products(_mm256_setzero_si256(), w.codes[c], load32(a.qs + 32 * c));
            acc[c % 2] = _mm256_add_epi32(acc[c % 2], Dot::widen_scaled(sums, w.scale[c]));
        });
        return add_bsums_terms<Block>(_mm256_add_epi32(acc[0], acc[1]), w.s, a);
    }
};

/// dot_blocks' float step for blocks w[0 .. n-1] times a[0 .. n-1] (n <= 8) whose integer sums are s[0 .. n-1]
/// (s[n ..] zero): (d * d_a) * float(isum) - (dmin * d_a) * float(msum), 8 blocks in 8 lanes, added to acc.
template <class Block>
LOWBIT_INLINE void kdot_step(fbatch& acc, const Block* w, const q8_K::block* a, std::size_t n,
                             const kblock_sums (&s)[8]) noexcept {
    using traits = ref::kquant<Block>;
    __m256i isum[8], msum[8];
    alignas(32) float dw[8] = {}, dmin[8] = {}, da[8] = {};  // zero scales: the tail lanes add nothing
    for (std::size_t k = 0; k < 8; ++k) {
        isum[k] = s[k].isum;
        msum[k] = s[k].msum;
    }
    for (std::size_t k = 0; k < n; ++k) {
        dw[k] = load_half1(w[k].d);
        if constexpr (traits::has_min) dmin[k] = load_half1(w[k].dmin);
        da[k] = a[k].d.value();
    }
    const fbatch d_a = fbatch::load_aligned(da);
    const fbatch term = (fbatch::load_aligned(dw) * d_a) * fbatch(_mm256_cvtepi32_ps(reduce8(isum)));
    if constexpr (traits::has_min) {
        // The min term is subtracted with one fused multiply-add from the rounded isum term: what GCC and
        // clang make of the reference's `term -= (dmin * d_a) * msum` with contraction on (their default).
        // The two parts can nearly cancel, so a different rounding could exceed the documented bound.
        const fbatch dm = fbatch::load_aligned(dmin) * d_a;
        acc += fbatch(_mm256_fnmadd_ps(dm, _mm256_cvtepi32_ps(reduce8(msum)), rounded(term)));
    } else {
        acc += rounded(term);  // never fused into the add (-ffp-contract=fast): what the packed kernel adds
    }
}

/// dot_blocks of the K formats with a Decoder (kdecoder_ymm, or AVX-512's): 8 blocks per kdot_step.
template <class Decoder, class Block>
inline float kdot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks) noexcept {
    fbatch acc(0.0f);
    for (std::size_t b = 0; b < nblocks; b += 8) {
        const std::size_t n = nblocks - b < 8 ? nblocks - b : 8;
        kblock_sums s[8];
        for (std::size_t k = 0; k < 8; ++k)
            s[k] = k < n ? Decoder::template dot<Block>(Decoder::decode(w[b + k]), a[b + k])
                         : kblock_sums{_mm256_setzero_si256(), _mm256_setzero_si256()};
        kdot_step(acc, w + b, a + b, n, s);
    }
    return xsimd::hadd(acc);
}

/// One 8-byte quarter of 32 bytes, widened to 8 int32 lanes (sign- or zero-extended) and converted to float.
template <int Q, bool Signed>
LOWBIT_INLINE fbatch quarter_to_float(__m256i v) noexcept {
    const __m128i half = Q < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
    const __m128i bytes = Q % 2 == 0 ? half : _mm_srli_si128(half, 8);
    return fbatch(_mm256_cvtepi32_ps(Signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes)));
}

/// Scale times each of 16 int16 group values, as 16 floats (two batches of 8).
LOWBIT_INLINE void scale_groups(float scale, __m256i groups, float* out) noexcept {
    const fbatch s(scale);
    (s * fbatch(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(groups))))).store_aligned(out);
    (s * fbatch(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(groups, 1))))).store_aligned(out + 8);
}

}  // namespace x86_impl

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
