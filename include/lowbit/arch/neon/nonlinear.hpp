#pragma once
/// \file arch/neon/nonlinear.hpp
/// NEON kernels for iq4_nl and mxfp4 (the reference is ref/nonlinear.hpp): dequantize_blocks and dot_blocks are
/// the shared ones of common.hpp, and iq4_xs's dot (below); this file reads a block's values, one tbl lookup of its nibbles in the format's
/// 16-entry table. Quantization is the reference's (weights are quantized once, offline).
#include "../../ref/nonlinear.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

template <class Block>
struct table_codes : std::true_type {
    static constexpr bool has_min = false;
    static int8x16x2_t load(const Block& b) noexcept {
        const int8x16_t table = vld1q_s8(Block::format::values);
        const uint8x16_t qs = vld1q_u8(b.qs);
        return {{vqtbl1q_s8(table, vandq_u8(qs, vdupq_n_u8(0x0F))), vqtbl1q_s8(table, vshrq_n_u8(qs, 4))}};
    }
    static float scale(const Block& b) noexcept { return Block::format::scale(b); }
};
template <> struct codes<iq4_nl::block> : table_codes<iq4_nl::block> {};
template <> struct codes<mxfp4::block> : table_codes<mxfp4::block> {};

/// iq4_xs with q8_K: per super-block the exact isum = sum over sub-blocks of l_s * (values . a), then
/// sum += float(isum) * (d_w * d_a) in block order: the reference's float steps, so its result bit for bit.
template <class Tag>
inline float iq4_xs_dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const Tag& tag) noexcept {
    const int8x16_t table = vld1q_s8(iq4_nl::values);
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int32x4_t acc = vdupq_n_s32(0);
        for (int s = 0; s < 8; ++s) {
            const uint8x16_t qs = vld1q_u8(w[b].qs + 16 * s);
            const int8x16x2_t v = {{vqtbl1q_s8(table, vandq_u8(qs, vdupq_n_u8(0x0F))), vqtbl1q_s8(table, vshrq_n_u8(qs, 4))}};
            acc = vmlaq_n_s32(acc, partial_dot(v, a[b].qs + 32 * s, tag), iq4_xs::sub_scale(w[b], s));
        }
        sum += detail::rounded(static_cast<float>(vaddvq_s32(acc)) * (load_half(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  // namespace neon_impl

inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const neon& tag) noexcept {
    return neon_impl::iq4_xs_dot_blocks(w, a, nblocks, tag);
}
#if LOWBIT_HAVE_NEON_DOTPROD
inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const neon_dotprod& tag) noexcept {
    return neon_impl::iq4_xs_dot_blocks(w, a, nblocks, tag);
}
#endif
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
