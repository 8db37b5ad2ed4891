#pragma once
/// \file arch/neon/ternary.hpp
/// NEON dot products of tq1_0 and tq2_0 (the reference is ref/ternary.hpp): a block's 256 weights decoded to
/// signed bytes (code - 1), then the int8 dot of common.hpp against the q8_K activations. Quantize and dequantize
/// are the reference's.
#include "../../ref/ternary.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

/// tq2_0: the 2-bit fields, minus 1, into v[0..255] in weight order.
LOWBIT_INLINE void ternary_values(const tq2_0::block& b, std::int8_t* v) noexcept {
    for (int n = 0; n < 2; ++n)
        for (int h = 0; h < 2; ++h) {
            const uint8x16_t q = vld1q_u8(b.qs + 32 * n + 16 * h);
            for (int k = 0; k < 4; ++k) {
                const uint8x16_t c = vandq_u8(vshlq_u8(q, vdupq_n_s8(static_cast<std::int8_t>(-2 * k))), vdupq_n_u8(3));
                vst1q_s8(v + 128 * n + 32 * k + 16 * h, vsubq_s8(vreinterpretq_s8_u8(c), vdupq_n_s8(1)));
            }
        }
}

/// Trit n of each byte, minus 1: ((b * 3^n mod 256) * 3) >> 8 (vmul wraps mod 256; the product with 3 widens).
LOWBIT_INLINE int8x16_t trit_values(uint8x16_t b, std::uint8_t pow3) noexcept {
    const uint8x16_t m = vmulq_u8(b, vdupq_n_u8(pow3));
    const uint8x16_t t = vcombine_u8(vshrn_n_u16(vmull_u8(vget_low_u8(m), vdup_n_u8(3)), 8),
                                     vshrn_n_u16(vmull_high_u8(m, vdupq_n_u8(3)), 8));
    return vsubq_s8(vreinterpretq_s8_u8(t), vdupq_n_s8(1));
}

/// tq1_0: the trits, minus 1, into v[0..255] in weight order (format/tq1_0.hpp).
LOWBIT_INLINE void ternary_values(const tq1_0::block& b, std::int8_t* v) noexcept {
    constexpr std::uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8x16_t q[3] = {vld1q_u8(b.qs), vld1q_u8(b.qs + 16), vld1q_u8(b.qs + 32)};
    std::uint8_t h[16] = {};
    std::memcpy(h, b.qh, 4);
    const uint8x16_t qh = vld1q_u8(h);
    for (int n = 0; n < 5; ++n) {
        vst1q_s8(v + 32 * n, trit_values(q[0], pow3[n]));
        vst1q_s8(v + 32 * n + 16, trit_values(q[1], pow3[n]));
        vst1q_s8(v + 160 + 16 * n, trit_values(q[2], pow3[n]));
    }
    for (int n = 0; n < 4; ++n) {
        std::int8_t t[16];
        vst1q_s8(t, trit_values(qh, pow3[n]));
        std::memcpy(v + 240 + 4 * n, t, 4);
    }
}

/// With q8_K activations: per super-block the exact isum, then sum += float(isum) * (d_w * d_a) in block order:
/// the reference's float steps, so its result bit for bit.
template <class Block, class Tag>
inline float ternary_dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const Tag& tag) noexcept {
    std::int8_t v[256];
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        ternary_values(w[b], v);
        int32x4_t acc = vdupq_n_s32(0);
        for (int s = 0; s < 8; ++s)
            acc = vaddq_s32(acc, partial_dot({{vld1q_s8(v + 32 * s), vld1q_s8(v + 32 * s + 16)}}, a[b].qs + 32 * s, tag));
        sum += detail::rounded(static_cast<float>(vaddvq_s32(acc)) * (load_half(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  // namespace neon_impl

template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon& tag) noexcept {
    return neon_impl::ternary_dot_blocks(w, a, nblocks, tag);
}
#if LOWBIT_HAVE_NEON_DOTPROD
template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon_dotprod& tag) noexcept {
    return neon_impl::ternary_dot_blocks(w, a, nblocks, tag);
}
#endif

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
