#pragma once
/// \file arch/neon/q4_q5.hpp
/// NEON kernels for the nibble-packed formats q4_0, q4_1, q5_0, q5_1 (the reference is arch/scalar/q4_q5.hpp).
/// dequantize_blocks and dot_blocks are the shared ones of common.hpp; this file unpacks and packs the codes.
#include "../../ref/linear32.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

/// Codes as signed bytes, the zero point (8 or 16) already subtracted for the symmetric formats.
template <class Block>
struct nibble_codes : half_scale_codes {
    using traits = ref::nibble_format<Block>;
    static constexpr bool has_min = traits::has_min;
    static constexpr std::int8_t zero = traits::zero_point;

    static int8x16x2_t load(const Block& b) noexcept {
        const uint8x16_t qs = vld1q_u8(b.qs);
        uint8x16_t c[2] = {vandq_u8(qs, vdupq_n_u8(0x0F)), vshrq_n_u8(qs, 4)};  // values 0..15, 16..31
        if constexpr (traits::bits == 5) {
            // Bit i of qh becomes 0x10 in byte i: each qh byte is broadcast to 8 lanes, each lane tests its bit.
            const uint8x16_t bit = vld1q_u8(lane_bit);
            for (int h = 0; h < 2; ++h) {
                const uint8x16_t spread = vcombine_u8(vdup_n_u8(b.qh[2 * h]), vdup_n_u8(b.qh[2 * h + 1]));
                c[h] = vorrq_u8(c[h], vandq_u8(vtstq_u8(spread, bit), vdupq_n_u8(0x10)));
            }
        }
        const int8x16_t z = vdupq_n_s8(zero);
        return {{vsubq_s8(vreinterpretq_s8_u8(c[0]), z), vsubq_s8(vreinterpretq_s8_u8(c[1]), z)}};
    }
};
template <> struct codes<q4_0::block> : nibble_codes<q4_0::block> {};
template <> struct codes<q4_1::block> : nibble_codes<q4_1::block> {};
template <> struct codes<q5_0::block> : nibble_codes<q5_0::block> {};
template <> struct codes<q5_1::block> : nibble_codes<q5_1::block> {};

}  // namespace neon_impl

/// As the reference: symmetric code = min(2Z - 1, trunc(float(x * id) + (Z + 0.5))) with d from the first value of
/// largest magnitude; asymmetric code = min(C, trunc(float((x - min) * id) + 0.5)). Each product is rounded
/// before the add (no fmla), fcvtzs truncates like the reference's cast.
template <class Block, ref::if_nibble_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const neon&) noexcept {
    using traits = ref::nibble_format<Block>;
    constexpr int zero = traits::zero_point, max_code = (1 << traits::bits) - 1;
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const neon_impl::floats32 v = neon_impl::load32(x);
        float32x4_t product[8];
        float offset;
        if constexpr (traits::has_min) {
            const float lo = neon_impl::first_extreme<false>(x, v), hi = neon_impl::first_extreme<true>(x, v);
            const float d = (hi - lo) / static_cast<float>(max_code);
            const float32x4_t id = vdupq_n_f32(ref::inverse_or_zero(d)), vlo = vdupq_n_f32(lo);
            for (int i = 0; i < 8; ++i) product[i] = vmulq_f32(vsubq_f32(v.v[i], vlo), id);
            offset = 0.5f;
            store_half(y[b].d, d);
            store_half(y[b].m, lo);
        } else {
            const float d = neon_impl::signed_abs_max(x, v) / -static_cast<float>(zero);
            const float32x4_t id = vdupq_n_f32(ref::inverse_or_zero(d));
            for (int i = 0; i < 8; ++i) product[i] = vmulq_f32(v.v[i], id);
            offset = static_cast<float>(zero) + 0.5f;
            store_half(y[b].d, d);
        }
        int32x4_t q[8];
        for (int i = 0; i < 8; ++i) {
            const int32x4_t t = vcvtq_s32_f32(vaddq_f32(detail::rounded(product[i]), vdupq_n_f32(offset)));
            q[i] = vminq_s32(vmaxq_s32(t, vdupq_n_s32(0)), vdupq_n_s32(max_code));
        }
        const int8x16x2_t c8 = neon_impl::narrow32(q);
        const uint8x16_t c[2] = {vreinterpretq_u8_s8(c8.val[0]), vreinterpretq_u8_s8(c8.val[1])};
        if constexpr (traits::bits == 5) {
            // Bit 4 of code i -> bit i of qh: keep each lane's own bit, then add the 8 lanes of each byte.
            const uint8x16_t bit = vld1q_u8(neon_impl::lane_bit);
            for (int h = 0; h < 2; ++h) {
                const uint8x16_t set = vandq_u8(vtstq_u8(c[h], vdupq_n_u8(0x10)), bit);
                y[b].qh[2 * h] = vaddv_u8(vget_low_u8(set));
                y[b].qh[2 * h + 1] = vaddv_u8(vget_high_u8(set));
            }
        }
        vst1q_u8(y[b].qs, vsliq_n_u8(c[0], c[1], 4));  // low nibble: code j (bit 4 dropped), high: code j + 16
    }
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
