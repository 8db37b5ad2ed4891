#pragma once
/// \file arch/neon/ternary.hpp
/// NEON dot products of tq1_0 and tq2_0 (the reference is ref/ternary.hpp): a block's 256 weights decoded to
/// signed bytes (code - 1), then the int8 dot of common.hpp against the q8_K activations. Quantize and dequantize
/// are the reference's. GEMM decodes each weight row once for the batch (decoded_rows).
#include "../../core/matmul.hpp"
#include "../../ref/ternary.hpp"
#include "common.hpp"
#include "byte_panel.hpp"

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

/// tq1_0 and tq2_0 with q8_K, decoded_rows' Decoder (core/matmul.hpp), which their dot_blocks runs too: a block's
/// values (code - 1) and d; term() is the exact isum times (d_w * d_a), rounded: the reference's float step.
template <class Tag>
struct ternary_decoder {
    struct decoded {
        std::int8_t v[256];
        float d;
    };
    static constexpr float factor = 1.0f;
    static constexpr std::size_t sub_block = qk_k;  // byte panels' (arch/byte_panel.hpp) interface
    template <class Block>
    static LOWBIT_INLINE void decode(const Block& w, decoded& out) noexcept {
        ternary_values(w, out.v);
        out.d = load_half(w.d);
    }
    static LOWBIT_INLINE int8x16x2_t values(const decoded& w, int k) noexcept {
        return {{vld1q_s8(w.v + 32 * k), vld1q_s8(w.v + 32 * k + 16)}};
    }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        int32x4_t acc = vdupq_n_s32(0);
        for (int s = 0; s < 8; ++s) {
            const int8x16x2_t v = {{vld1q_s8(w.v + 32 * s), vld1q_s8(w.v + 32 * s + 16)}};
            acc = vaddq_s32(acc, partial_dot(v, a.qs + 32 * s, Tag{}));
        }
        return detail::rounded(static_cast<float>(vaddvq_s32(acc)) * (w.d * a.d.value()));
    }
};

}  // namespace neon_impl

template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon&) noexcept {
    return decoded_dot_blocks(neon_impl::ternary_decoder<neon>{}, w, a, nblocks);
}
#if LOWBIT_HAVE_NEON_DOTPROD
template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon_dotprod&) noexcept {
    return decoded_dot_blocks(neon_impl::ternary_decoder<neon_dotprod>{}, w, a, nblocks);
}
#endif

/// Each GEMM row decoded once for the batch (make_panel: neon/kernels.hpp); on dotprod and i8mm, from
/// byte_panel_batch rows, byte panels.
template <class WFmt, class Tag, ref::if_ternary_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const decoded_panel<q8_K>& p,
               const matmul_output& out, const Tag&) {
    const neon_impl::ternary_decoder<Tag> decoder{};
    neon_impl::byte_panel_rows<Tag>(w, r0, r1, p.xq, out, decoder, [&] { decoded_rows(w, r0, r1, p.xq, out, decoder); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
