#pragma once
/// \file arch/neon/q8.hpp
/// NEON kernels for q8_0 and q8_1 (the reference is arch/scalar/q8.hpp). dequantize_blocks and dot_blocks are the
/// shared ones of common.hpp; this file says how the codes are read and quantizes.
#include "../../ref/q8.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

template <class Block>
struct q8_codes : half_scale_codes {
    static constexpr bool has_min = false;
    static int8x16x2_t load(const Block& b) noexcept { return {{vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}}; }
};
template <> struct codes<q8_0::block> : q8_codes<q8_0::block> {};
template <> struct codes<q8_1::block> : q8_codes<q8_1::block> {};

}  // namespace neon_impl

/// As the reference: d = max|x| / 127, q = round-half-away(x * (1/d)) (fcvtas rounds exactly so), q8_1's s from
/// the exact integer sum.
template <class Block, ref::if_q8_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const neon&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const neon_impl::floats32 v = neon_impl::load32(x);
        const float d = neon_impl::abs_max(v) / 127.0f;
        const float32x4_t id = vdupq_n_f32(ref::inverse_or_zero(d));
        int32x4_t q[8];
        int32x4_t sum = vdupq_n_s32(0);
        for (int i = 0; i < 8; ++i) {
            q[i] = vcvtaq_s32_f32(vmulq_f32(v.v[i], id));
            sum = vaddq_s32(sum, q[i]);
        }
        const int8x16x2_t bytes = neon_impl::narrow32(q);
        vst1q_s8(y[b].qs, bytes.val[0]);
        vst1q_s8(y[b].qs + 16, bytes.val[1]);
        store_half(y[b].d, d);
        if constexpr (std::is_same<Block, q8_1::block>::value)
            store_half(y[b].s, static_cast<float>(vaddvq_s32(sum)) * d);
    }
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
