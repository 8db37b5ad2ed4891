#pragma once
/// \file arch/neon/common.hpp
/// Helpers shared by the AArch64 NEON kernels (neon, neon_dotprod, neon_i8mm), and the kernels that are the
/// same for every format: dequantize_blocks and the block-loop of dot_blocks.
///
/// Each format header (q8.hpp, q4_q5.hpp) specializes neon_impl::codes<Block> to say how a block's 32 values
/// are read as signed bytes; everything here is written once against that.
#include "../../format/q8_0.hpp"
#include "../../format/q8_1.hpp"
#include "../../ref/common.hpp"

#include <arm_neon.h>

#include <cstring>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch { namespace neon_impl {

/// codes<Block>::load(b) returns the block's 32 values as signed bytes {values 0..15, values 16..31} such that
/// value i = d * code_i (+ m when has_min), d = codes<Block>::scale(b). Specialized next to each format's kernels
/// (from half_scale_codes where d is the block's fp16 field).
template <class Block>
struct codes : std::false_type {};

template <class Block>
using if_codes = std::enable_if_t<codes<Block>::value, int>;

/// The scale of the blocks whose d is fp16.
struct half_scale_codes : std::true_type {
    template <class Block>
    static float scale(const Block& b) noexcept { return load_half(b.d); }
};
/// The weight formats: every format with codes except the activation-only q8_1.
template <class Block>
using if_weight_codes = std::enable_if_t<codes<Block>::value && !std::is_same<Block, q8_1::block>::value, int>;

/// Lane i holds 1 << (i % 8): tests or sets bit i of a little-endian bit mask spread one bit per byte.
alignas(16) inline constexpr std::uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};

/// Keeps the compiler from moving memory accesses across this point; emits nothing. GCC's pre-RA scheduler (on by
/// default for AArch64) hoists the loads of a long unrolled kernel's later steps and spills what they loaded; a
/// fence per step keeps each step's loads in it.
LOWBIT_INLINE void step_fence() noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __asm__ volatile("" ::: "memory");
#endif
}

/// 32 floats as eight vectors, in index order.
struct floats32 {
    float32x4_t v[8];
};

LOWBIT_INLINE floats32 load32(const float* x) noexcept {
    floats32 r;
    for (int i = 0; i < 8; ++i) r.v[i] = vld1q_f32(x + 4 * i);
    return r;
}

/// 32 int32 values in -128..127 (in index order) to bytes {values 0..15, values 16..31}.
LOWBIT_INLINE int8x16x2_t narrow32(const int32x4_t (&q)[8]) noexcept {
    int8x16x2_t r;
    for (int h = 0; h < 2; ++h) {
        const int16x8_t lo = vcombine_s16(vmovn_s32(q[4 * h]), vmovn_s32(q[4 * h + 1]));
        const int16x8_t hi = vcombine_s16(vmovn_s32(q[4 * h + 2]), vmovn_s32(q[4 * h + 3]));
        r.val[h] = vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
    }
    return r;
}

/// Index (0..31) of the first lane whose mask is all ones, or 32 if none is.
LOWBIT_INLINE unsigned first_set(const uint32x4_t (&mask)[8]) noexcept {
    static const std::uint32_t lane[4] = {0, 1, 2, 3};
    const uint32x4_t base = vld1q_u32(lane);
    uint32x4_t best = vdupq_n_u32(32);
    for (unsigned i = 0; i < 8; ++i) {
        const uint32x4_t index = vaddq_u32(base, vdupq_n_u32(4 * i));
        best = vminq_u32(best, vbslq_u32(mask[i], index, vdupq_n_u32(32)));
    }
    return vminvq_u32(best);
}

/// Largest |x| of the 32 values.
LOWBIT_INLINE float abs_max(const floats32& x) noexcept {
    float32x4_t m = vabsq_f32(x.v[0]);
    for (int i = 1; i < 8; ++i) m = vmaxq_f32(m, vabsq_f32(x.v[i]));
    return vmaxvq_f32(m);
}

/// The value of largest magnitude, the first one on ties (as ref::find_signed_absmax); +0 for an all-zero block.
LOWBIT_INLINE float signed_abs_max(const float* x, const floats32& v) noexcept {
    const float amax = abs_max(v);
    if (amax == 0.0f) return 0.0f;  // the reference never replaces its initial +0 then
    const float32x4_t target = vdupq_n_f32(amax);
    uint32x4_t hit[8];
    for (int i = 0; i < 8; ++i) hit[i] = vceqq_f32(vabsq_f32(v.v[i]), target);
    return x[first_set(hit)];
}

/// The reference's min (max): the first element equal to the smallest (largest) value. fmin/fmax agree with it
/// except on the sign of a zero result, so only then is the first zero looked up.
template <bool Max>
LOWBIT_INLINE float first_extreme(const float* x, const floats32& v) noexcept {
    float32x4_t e = v.v[0];
    for (int i = 1; i < 8; ++i) e = Max ? vmaxq_f32(e, v.v[i]) : vminq_f32(e, v.v[i]);
    const float r = Max ? vmaxvq_f32(e) : vminvq_f32(e);
    if (r != 0.0f) return r;
    uint32x4_t zero[8];
    for (int i = 0; i < 8; ++i) zero[i] = vceqzq_f32(v.v[i]);
    return x[first_set(zero)];
}

/// Four fp16 scales to floats, exactly (fcvtl widens every half, subnormals included, without rounding).
LOWBIT_INLINE float32x4_t load_halves(const std::uint16_t (&h)[4]) noexcept {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

/// Writes value i = d * code_i (has_min false) or float(d * code_i) + m (has_min true, no fused multiply-add),
/// i = 0..31, to y.
template <bool HasMin>
LOWBIT_INLINE void store_scaled(int8x16x2_t c, float d, float m, float* y) noexcept {
    const float32x4_t vd = vdupq_n_f32(d), vm = vdupq_n_f32(m);
    for (int h = 0; h < 2; ++h) {
        const int16x8_t wide[2] = {vmovl_s8(vget_low_s8(c.val[h])), vmovl_high_s8(c.val[h])};
        for (int k = 0; k < 4; ++k) {
            const int32x4_t q = k % 2 == 0 ? vmovl_s16(vget_low_s16(wide[k / 2])) : vmovl_high_s16(wide[k / 2]);
            float32x4_t r = vmulq_f32(vcvtq_f32_s32(q), vd);
            if (HasMin) r = vaddq_f32(detail::rounded(r), vm);
            vst1q_f32(y + 16 * h + 4 * k, r);
        }
    }
}

/// Integer dot product of one block's codes with 32 int8 activations, as four int32 partial sums.
/// Plain NEON: 8x8 -> 16-bit products (|product| <= 128 * 128 fits int16), pairwise added into 32 bits.
LOWBIT_INLINE int32x4_t partial_dot(int8x16x2_t w, const std::int8_t* a, const neon&) noexcept {
    int32x4_t acc = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
        const int8x16_t x = vld1q_s8(a + 16 * h);
        acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(w.val[h]), vget_low_s8(x)));
        acc = vpadalq_s16(acc, vmull_high_s8(w.val[h], x));
    }
    return acc;
}

#if LOWBIT_HAVE_NEON_DOTPROD
/// sdot: four 4-byte dot products per instruction.
LOWBIT_INLINE int32x4_t partial_dot(int8x16x2_t w, const std::int8_t* a, const neon_dotprod&) noexcept {
    const int32x4_t acc = vdotq_s32(vdupq_n_s32(0), w.val[0], vld1q_s8(a));
    return vdotq_s32(acc, w.val[1], vld1q_s8(a + 16));
}
#endif

/// Block terms of `count` (1..4) consecutive blocks in lanes 0..count-1, zero in the others:
/// isum * (d_w * d_a), plus m_w * s_a for q8_1 activations. The integer sums are exact (|isum| < 2^24, so
/// converting it to float is exact too), and each term is rounded as in the reference.
template <class WBlock, class ABlock, class Tag>
LOWBIT_INLINE float32x4_t block_terms(const WBlock* w, const ABlock* a, std::size_t count, const Tag& tag) noexcept {
    constexpr bool has_min = codes<WBlock>::has_min;  // then ABlock is q8_1, with its sum s
    int32x4_t part[4];
    std::uint16_t dw[4] = {}, da[4] = {}, mw[4] = {}, sa[4] = {};
    float dwf[4] = {};  // the weight scales of a format without an fp16 d (ref::half_scale)
    for (std::size_t k = 0; k < 4; ++k) {
        if (k >= count) {
            part[k] = vdupq_n_s32(0);
            continue;
        }
        part[k] = partial_dot(codes<WBlock>::load(w[k]), a[k].qs, tag);
        if constexpr (ref::half_scale<WBlock>::value) dw[k] = w[k].d.bits();
        else dwf[k] = WBlock::format::scale(w[k]);
        da[k] = a[k].d.bits();
        if constexpr (has_min) {
            mw[k] = w[k].m.bits();
            sa[k] = a[k].s.bits();
        }
    }
    // Pairwise adds: {p0 p0 p1 p1 | p2 p2 p3 p3} -> one lane per block.
    const int32x4_t isum = vpaddq_s32(vpaddq_s32(part[0], part[1]), vpaddq_s32(part[2], part[3]));
    const float32x4_t scale_w = ref::half_scale<WBlock>::value ? load_halves(dw) : vld1q_f32(dwf);
    // Fenced: -ffp-contract=fast must not fuse a product into the next add here and not in the packed kernel.
    float32x4_t term = detail::rounded(vmulq_f32(vcvtq_f32_s32(isum), vmulq_f32(scale_w, load_halves(da))));
    if constexpr (has_min) term = vaddq_f32(term, detail::rounded(vmulq_f32(load_halves(mw), load_halves(sa))));
    return term;
}

/// Sum over blocks of the block terms, four blocks per step in four float lanes, then the tail.
template <class WBlock, class ABlock, class Tag>
inline float dot_rows(const WBlock* w, const ABlock* a, std::size_t nblocks, const Tag& tag) noexcept {
    float32x4_t acc = vdupq_n_f32(0.0f);
    std::size_t b = 0;
    for (; b + 4 <= nblocks; b += 4) acc = vaddq_f32(acc, block_terms(w + b, a + b, 4, tag));
    if (b < nblocks) acc = vaddq_f32(acc, block_terms(w + b, a + b, nblocks - b, tag));
    return vaddvq_f32(acc);
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::neon_impl

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// value_i = d * code_i (q8_0, q8_1, q4_0, q5_0, with the zero point already subtracted from the code), or
/// float(d * code_i) + m (q4_1, q5_1). Bit-identical to the reference for every bit pattern.
template <class Block, neon_impl::if_codes<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const neon&) noexcept {
    constexpr bool has_min = neon_impl::codes<Block>::has_min;
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        float m = 0.0f;
        if constexpr (has_min) m = load_half(x[b].m);
        neon_impl::store_scaled<has_min>(neon_impl::codes<Block>::load(x[b]), neon_impl::codes<Block>::scale(x[b]), m, y);
    }
}

/// Weights with their activation format (q8_0 for q8_0, q4_0, q5_0; q8_1 for q4_1, q5_1): sum over blocks of
/// isum * (d_w * d_a) [+ m_w * s_a]; integer block sums exact, float sum accumulated in four lanes.
template <class Block, neon_impl::if_weight_codes<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const neon& tag) noexcept {
    return neon_impl::dot_rows(w, a, nblocks, tag);
}

#if LOWBIT_HAVE_NEON_DOTPROD
/// As the neon overload, with sdot for the integer sums (neon_i8mm uses this one too: for a single row a 2x2
/// smmla tile would waste half its products).
template <class Block, neon_impl::if_weight_codes<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const neon_dotprod& tag) noexcept {
    return neon_impl::dot_rows(w, a, nblocks, tag);
}
#endif

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
