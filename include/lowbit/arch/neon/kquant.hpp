#pragma once
/// \file arch/neon/kquants.hpp
/// NEON kernels for the K-quants q2_K, q3_K, q4_K, q5_K, q6_K and their activation format q8_K, with the
/// reference's results (arch/scalar/kquants.hpp): identical bytes from q8_K's quantize, identical floats from
/// every dequantize, exact integer block sums in dot. Weight-side quantization (offline) stays the reference's.
///
/// The five weight formats share one code path. A super-block is read as 8 chunks of 32 weights (chunk c holds
/// weights 32c .. 32c + 31, the 16-weight groups 2c and 2c + 1 that q8_K's bsums cover): kblock<Block> decodes
/// a chunk's unsigned codes (0..63) into two 16-byte vectors in weight order with shifts and masks, and the
/// sub-block scales (and mins) into one int16 per 16-weight group. The dot then forms one int32 sum per group
/// (smull/smlal + sadalp, or sdot) and weights the 16 group sums by their scales.
#include "../../ref/kquant.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

/// 32 bytes in index order: {bytes 0..15, bytes 16..31}.
LOWBIT_INLINE uint8x16x2_t load_bytes32(const std::uint8_t* p) noexcept { return {{vld1q_u8(p), vld1q_u8(p + 16)}}; }

/// Bits From .. From + Width - 1 of every byte moved to bits To .. To + Width - 1, the other bits cleared (ushl
/// shifts right for a negative count). The arguments are constants once the callers' loops are unrolled.
LOWBIT_INLINE uint8x16x2_t move_bits(uint8x16x2_t v, int from, int to, int width) noexcept {
    const int8x16_t count = vdupq_n_s8(static_cast<std::int8_t>(to - from));
    const uint8x16_t mask = vdupq_n_u8(static_cast<std::uint8_t>(((1u << width) - 1u) << to));
    return {{vandq_u8(vshlq_u8(v.val[0], count), mask), vandq_u8(vshlq_u8(v.val[1], count), mask)}};
}

LOWBIT_INLINE uint8x16x2_t or_bytes32(uint8x16x2_t a, uint8x16x2_t b) noexcept {
    return {{vorrq_u8(a.val[0], b.val[0]), vorrq_u8(a.val[1], b.val[1])}};
}

/// 16 unsigned bytes widened to int16 lanes {bytes 0..7}, {bytes 8..15}.
LOWBIT_INLINE int16x8x2_t widen_u8(uint8x16_t v) noexcept {
    return {{vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v))), vreinterpretq_s16_u16(vmovl_high_u8(v))}};
}

/// The sub-block scales and mins of a K block, one int16 per 16-weight group (a 32-weight sub-block's value
/// twice): val[0] groups 0..7, val[1] groups 8..15. m is zero for the symmetric formats.
struct group_scales {
    int16x8x2_t sc, m;
};

/// Per-format decoding: codes(b, c) gives chunk c's 32 unsigned codes in weight order; scales(b) the group
/// scales. The layouts are documented in format/q2_K.hpp ... format/q6_K.hpp.
template <class Block>
struct kblock;

template <>
struct kblock<q2_K::block> {
    /// Chunk c = 4g + k: bits 2k..2k+1 of qs[32g .. 32g + 31].
    static LOWBIT_INLINE uint8x16x2_t codes(const q2_K::block& b, int c) noexcept {
        return move_bits(load_bytes32(b.qs + 32 * (c / 4)), 2 * (c % 4), 0, 2);
    }
    static LOWBIT_INLINE group_scales scales(const q2_K::block& b) noexcept {
        const uint8x16_t bytes = vld1q_u8(b.scales);
        return {widen_u8(vandq_u8(bytes, vdupq_n_u8(0x0F))), widen_u8(vshrq_n_u8(bytes, 4))};
    }
};

template <>
struct kblock<q3_K::block> {
    /// Bits 0-1 as q2_K; bit 2 of chunk c is bit c of hmask[0 .. 31].
    static LOWBIT_INLINE uint8x16x2_t codes(const q3_K::block& b, int c) noexcept {
        return or_bytes32(move_bits(load_bytes32(b.qs + 32 * (c / 4)), 2 * (c % 4), 0, 2),
                          move_bits(load_bytes32(b.hmask), c, 2, 1));
    }
    static LOWBIT_INLINE group_scales scales(const q3_K::block& b) noexcept {
        // Bits 0-3 of S_s: the low nibbles of scales[0..7] (s < 8), then their high nibbles (s >= 8).
        const uint8x8_t l = vld1_u8(b.scales);
        const uint8x16_t low = vandq_u8(vcombine_u8(l, vshr_n_u8(l, 4)), vdupq_n_u8(0x0F));
        // Bits 4-5: byte s of the broadcast word is scales[8 + s % 4]; shifted right by 2(s / 4).
        std::uint32_t high_bytes;
        std::memcpy(&high_bytes, b.scales + 8, 4);
        static const std::int8_t shift[16] = {0, 0, 0, 0, -2, -2, -2, -2, -4, -4, -4, -4, -6, -6, -6, -6};
        const uint8x16_t h = vshlq_u8(vreinterpretq_u8_u32(vdupq_n_u32(high_bytes)), vld1q_s8(shift));
        const uint8x16_t high = vshlq_n_u8(vandq_u8(h, vdupq_n_u8(3)), 4);
        const int8x16_t sc = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(low, high)), vdupq_n_s8(32));
        const int16x8_t zero = vdupq_n_s16(0);
        return {{{vmovl_s8(vget_low_s8(sc)), vmovl_high_s8(sc)}}, {{zero, zero}}};
    }
};

/// q4_K and q5_K: nibbles (plus q5_K's fifth bit) and the 6-bit scale/min pairs.
template <class Block, bool FifthBit>
struct kblock_4_5 {
    /// Chunk c = 2g + h: nibble h of qs[32g .. 32g + 31]; q5_K's bit 4 is bit c of qh[0 .. 31].
    static LOWBIT_INLINE uint8x16x2_t codes(const Block& b, int c) noexcept {
        const uint8x16x2_t low = move_bits(load_bytes32(b.qs + 32 * (c / 2)), 4 * (c % 2), 0, 4);
        if constexpr (FifthBit) return or_bytes32(low, move_bits(load_bytes32(b.qh), c, 4, 1));
        else return low;
    }
    static LOWBIT_INLINE group_scales scales(const Block& b) noexcept {
        const auto [sc_low, sc_high, m_low, m_high] = detail::scales_6bit_pairs::unpack_words(b.scales);
        // Each sub-block covers two groups: every byte twice.
        auto groups = [](std::uint32_t low, std::uint32_t high) {
            const uint8x8_t v = vcreate_u8(low | static_cast<std::uint64_t>(high) << 32);
            const uint8x8x2_t twice = vzip_u8(v, v);
            return widen_u8(vcombine_u8(twice.val[0], twice.val[1]));
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
    /// Chunk c = 4g + k: bits 0-3 are nibble k / 2 of ql[64g + 32(k % 2) ..], bits 4-5 are bits 2k..2k+1 of
    /// qh[32g .. 32g + 31].
    static LOWBIT_INLINE uint8x16x2_t codes(const q6_K::block& b, int c) noexcept {
        const int g = c / 4, k = c % 4;
        return or_bytes32(move_bits(load_bytes32(b.ql + 64 * g + 32 * (k % 2)), 4 * (k / 2), 0, 4),
                          move_bits(load_bytes32(b.qh + 32 * g), 2 * k, 4, 2));
    }
    static LOWBIT_INLINE group_scales scales(const q6_K::block& b) noexcept {
        const int8x16_t sc = vld1q_s8(b.scales);
        const int16x8_t zero = vdupq_n_s16(0);
        return {{{vmovl_s8(vget_low_s8(sc)), vmovl_high_s8(sc)}}, {{zero, zero}}};
    }
};

/// Dot product of 16 codes (0..63) with 16 int8 activations, as four int32 partial sums.
/// Plain NEON: |code * a| <= 63 * 128, so a pair of products (smull + smlal2) fits int16; sadalp widens.
LOWBIT_INLINE int32x4_t group_dot(int8x16_t u, int8x16_t a, const neon&) noexcept {
    return vpaddlq_s16(vmlal_high_s8(vmull_s8(vget_low_s8(u), vget_low_s8(a)), u, a));
}

#if LOWBIT_HAVE_NEON_DOTPROD
LOWBIT_INLINE int32x4_t group_dot(int8x16_t u, int8x16_t a, const neon_dotprod&) noexcept {
    return vdotq_s32(vdupq_n_s32(0), u, a);
}
#endif

/// sum_g x_g * y_g over 16 int16 lanes, as four int32 partial sums.
LOWBIT_INLINE int32x4_t dot16(int16x8x2_t x, int16x8x2_t y) noexcept {
    int32x4_t r = vmull_s16(vget_low_s16(x.val[0]), vget_low_s16(y.val[0]));
    r = vmlal_high_s16(r, x.val[0], y.val[0]);
    r = vmlal_s16(r, vget_low_s16(x.val[1]), vget_low_s16(y.val[1]));
    return vmlal_high_s16(r, x.val[1], y.val[1]);
}

/// A K block times a q8_K block: four int32 lanes summing to isum, and four summing to msum (zero without
/// mins), as defined by the reference's dot_blocks. Additions wrap modulo 2^32, so any order gives the
/// reference's int sums.
struct kblock_sums {
    int32x4_t isum, msum;
};

template <class Block, class Tag>
LOWBIT_INLINE kblock_sums kblock_dot(const Block& w, const q8_K::block& a, const Tag& tag) noexcept {
    using traits = ref::kquant<Block>;
    int32x4_t group[16];
    for (int c = 0; c < 8; ++c) {
        const uint8x16x2_t u = kblock<Block>::codes(w, c);
        for (int h = 0; h < 2; ++h)
            group[2 * c + h] = group_dot(vreinterpretq_s8_u8(u.val[h]), vld1q_s8(a.qs + 32 * c + 16 * h), tag);
    }
    const group_scales s = kblock<Block>::scales(w);
    int32x4_t isum = vdupq_n_s32(0);
    for (int i = 0; i < 4; ++i) {
        // Pairwise adds: lane j = the sum of group 4i + j.
        const int32x4_t sums = vpaddq_s32(vpaddq_s32(group[4 * i], group[4 * i + 1]),
                                          vpaddq_s32(group[4 * i + 2], group[4 * i + 3]));
        const int16x8_t sc = s.sc.val[i / 2];
        isum = vmlaq_s32(isum, sums, i % 2 == 0 ? vmovl_s16(vget_low_s16(sc)) : vmovl_high_s16(sc));
    }
    const auto* bsum_bytes = reinterpret_cast<const std::uint8_t*>(a.bsums);  // int16 little-endian
    const int16x8x2_t bsums = {{vreinterpretq_s16_u8(vld1q_u8(bsum_bytes)), vreinterpretq_s16_u8(vld1q_u8(bsum_bytes + 16))}};
    if constexpr (traits::zero != 0) isum = vmlsq_n_s32(isum, dot16(bsums, s.sc), traits::zero);
    return {isum, traits::has_min ? dot16(bsums, s.m) : vdupq_n_s32(0)};
}

/// One lane per block: lane k = the sum of the lanes of v[k].
LOWBIT_INLINE int32x4_t lane_sums(const int32x4_t (&v)[4]) noexcept {
    return vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3]));
}

/// Sum over blocks of (d * d_a) * float(isum) - (dmin * d_a) * float(msum), four blocks per step in four float
/// lanes. Each term is rounded as in the reference (no fused multiply-subtract); only the order of the final
/// additions differs.
template <class Block, class Tag>
inline float dot_kblocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const Tag& tag) noexcept {
    using traits = ref::kquant<Block>;
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (std::size_t b = 0; b < nblocks; b += 4) {
        const std::size_t n = nblocks - b < 4 ? nblocks - b : 4;
        int32x4_t isum[4], msum[4];
        float dw[4] = {}, dmin[4] = {}, da[4] = {};  // zero scales: the tail lanes add +0
        for (std::size_t k = 0; k < 4; ++k) {
            if (k < n) {
                const kblock_sums s = kblock_dot(w[b + k], a[b + k], tag);
                isum[k] = s.isum;
                msum[k] = s.msum;
                dw[k] = load_half(w[b + k].d);
                dmin[k] = ref::load_dmin(w[b + k]);
                da[k] = a[b + k].d.value();
            } else {
                isum[k] = msum[k] = vdupq_n_s32(0);
            }
        }
        const float32x4_t d_a = vld1q_f32(da);
        float32x4_t term = vmulq_f32(vmulq_f32(vld1q_f32(dw), d_a), vcvtq_f32_s32(lane_sums(isum)));
        if constexpr (traits::has_min)
            term = vsubq_f32(detail::rounded(term),
                             detail::rounded(vmulq_f32(vmulq_f32(vld1q_f32(dmin), d_a), vcvtq_f32_s32(lane_sums(msum)))));
        acc = vaddq_f32(acc, detail::rounded(term));  // never fused into the add: what the packed kernel adds
    }
    return vaddvq_f32(acc);
}

/// Writes the 16 values of one group: float(dl * u) - ml (with a min; the product rounded first) or
/// dl * (u - Z) (symmetric), as the reference's dequantize_codes.
template <class Block>
LOWBIT_INLINE void store_group(uint8x16_t u, float dl, float ml, float* y) noexcept {
    using traits = ref::kquant<Block>;
    const float32x4_t vdl = vdupq_n_f32(dl), vml = vdupq_n_f32(ml);
    // u - Z fits int8 (codes <= 63, Z <= 32); with a min, codes < 128 read as int8 unchanged.
    const int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(u), vdupq_n_s8(traits::zero));
    const int16x8_t wide[2] = {vmovl_s8(vget_low_s8(v)), vmovl_high_s8(v)};
    for (int k = 0; k < 4; ++k) {
        const int32x4_t q = k % 2 == 0 ? vmovl_s16(vget_low_s16(wide[k / 2])) : vmovl_high_s16(wide[k / 2]);
        float32x4_t r = vmulq_f32(vdl, vcvtq_f32_s32(q));
        if constexpr (traits::has_min) r = vsubq_f32(detail::rounded(r), vml);
        vst1q_f32(y + 4 * k, r);
    }
}

/// scale * float(g) for each of 16 int16 group values.
LOWBIT_INLINE void scale_groups(float scale, int16x8x2_t g, float* out) noexcept {
    const float32x4_t s = vdupq_n_f32(scale);
    for (int k = 0; k < 4; ++k) {
        const int16x8_t v = g.val[k / 2];
        const int32x4_t w = k % 2 == 0 ? vmovl_s16(vget_low_s16(v)) : vmovl_high_s16(v);
        vst1q_f32(out + 4 * k, vmulq_f32(s, vcvtq_f32_s32(w)));
    }
}

}  // namespace neon_impl

/// As the reference: with a min, x_i = float(float(d * sc_s) * u_i) - float(dmin * m_s) (rounded product, no
/// FMA); symmetric, x_i = float(d * sc_s) * (u_i - Z). Bit-identical for every bit pattern.
template <class Block, ref::if_kquant<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const neon&) noexcept {
    using namespace neon_impl;
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const group_scales s = kblock<Block>::scales(x[b]);
        float dl[16], ml[16] = {};
        scale_groups(load_half(x[b].d), s.sc, dl);
        if constexpr (ref::kquant<Block>::has_min) scale_groups(ref::load_dmin(x[b]), s.m, ml);
        for (int c = 0; c < 8; ++c) {
            const uint8x16x2_t u = kblock<Block>::codes(x[b], c);
            for (int h = 0; h < 2; ++h) store_group<Block>(u.val[h], dl[2 * c + h], ml[2 * c + h], y + 32 * c + 16 * h);
        }
    }
}

/// K weights with q8_K activations: exact integer block sums (smull/smlal + sadalp), float terms as the
/// reference's, added in four lanes.
template <class Block, ref::if_kquant<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon& tag) noexcept {
    return neon_impl::dot_kblocks(w, a, nblocks, tag);
}

#if LOWBIT_HAVE_NEON_DOTPROD
/// As the neon overload, with sdot for the group sums (neon_i8mm uses this one too).
template <class Block, ref::if_kquant<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon_dotprod& tag) noexcept {
    return neon_impl::dot_kblocks(w, a, nblocks, tag);
}
#endif

/// As the reference: m = the first value of largest |x|, iscale = -127 / m, q = nearest(iscale * x) (ties to
/// even, clamped to -128..127), d = 1 / iscale, bsums the 16-value sums of q. Inputs must be finite.
inline void quantize_blocks(const float* x, q8_K::block* y, std::size_t nblocks, const neon&) noexcept {
    using namespace neon_impl;
    for (std::size_t b = 0; b < nblocks; ++b, x += qk_k) {
        float chunk_max[8], amax = 0.0f;
        for (int c = 0; c < 8; ++c) {
            chunk_max[c] = abs_max(load32(x + 32 * c));
            amax = chunk_max[c] > amax ? chunk_max[c] : amax;
        }
        float max = 0.0f;  // the first value of largest magnitude, in the first 32-value chunk that holds it
        for (int c = 0; amax != 0.0f; ++c) {
            if (chunk_max[c] == amax) {
                max = signed_abs_max(x + 32 * c, load32(x + 32 * c));
                break;
            }
        }
        const float iscale = max != 0.0f ? -127.0f / max : 0.0f;
        const float32x4_t scale = vdupq_n_f32(iscale), lo = vdupq_n_f32(-128.0f), hi = vdupq_n_f32(127.0f);
        for (int c = 0; c < 8; ++c) {
            const floats32 v = load32(x + 32 * c);
            int32x4_t q[8];
            for (int i = 0; i < 8; ++i) {
                // Clamped in float first, as the reference: fmaxnm maps NaN (0 * Inf when iscale overflows) to
                // -128 like the reference's !(v > lo); fcvtns rounds to nearest even like nearbyint.
                q[i] = vcvtnq_s32_f32(vminnmq_f32(vmaxnmq_f32(vmulq_f32(scale, v.v[i]), lo), hi));
            }
            const int8x16x2_t bytes = narrow32(q);
            vst1q_s8(y[b].qs + 32 * c, bytes.val[0]);
            vst1q_s8(y[b].qs + 32 * c + 16, bytes.val[1]);
            y[b].bsums[2 * c].set(vaddlvq_s8(bytes.val[0]));
            y[b].bsums[2 * c + 1].set(vaddlvq_s8(bytes.val[1]));
        }
        y[b].d.set(max != 0.0f ? 1.0f / iscale : 0.0f);
    }
}

/// x_i = d * q_i.
inline void dequantize_blocks(const q8_K::block* x, float* y, std::size_t nblocks, const neon&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const float d = x[b].d.value();
        for (int c = 0; c < 8; ++c) {
            const int8x16x2_t q = {{vld1q_s8(x[b].qs + 32 * c), vld1q_s8(x[b].qs + 32 * c + 16)}};
            neon_impl::store_scaled<false>(q, d, 0.0f, y + 32 * c);
        }
    }
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
