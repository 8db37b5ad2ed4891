#pragma once
/// \file arch/neon/nonlinear.hpp
/// NEON kernels for iq4_nl and mxfp4 (the reference is ref/nonlinear.hpp): dequantize_blocks and dot_blocks are
/// the shared ones of common.hpp, and iq4_xs's dot and GEMM (below); this file reads a block's values, one tbl
/// lookup of its nibbles in the format's 16-entry table. Quantization is the reference's (weights are quantized
/// once, offline).
#include "../../core/matmul.hpp"
#include "../../ref/nonlinear.hpp"
#include "common.hpp"
#include "byte_panel.hpp"

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

/// iq4_xs with q8_K, decoded_rows' Decoder (core/matmul.hpp), which its dot_blocks runs too: a super-block's sub-block
/// s as 32 table values v[s] and its scale l_s; term() is the exact isum = sum over s of l_s * (v[s] . a) times
/// (d_w * d_a), rounded: the reference's float step.
template <class Tag>
struct iq4_xs_decoder {
    struct decoded {
        int8x16x2_t v[8];
        std::int32_t l[8];
        float d;
    };
    static constexpr float factor = 1.0f;
    static constexpr std::size_t sub_block = 32;  // byte panels' (arch/byte_panel.hpp) interface
    static LOWBIT_INLINE void decode(const iq4_xs::block& w, decoded& out) noexcept {
        const int8x16_t table = vld1q_s8(iq4_nl::values);
        for (int s = 0; s < 8; ++s) {
            const uint8x16_t qs = vld1q_u8(w.qs + 16 * s);
            out.v[s] = {{vqtbl1q_s8(table, vandq_u8(qs, vdupq_n_u8(0x0F))), vqtbl1q_s8(table, vshrq_n_u8(qs, 4))}};
            out.l[s] = iq4_xs::sub_scale(w, s);
        }
        out.d = load_half(w.d);
    }
    static void multipliers(const iq4_xs::block& w, int* m) noexcept {
        for (int s = 0; s < 8; ++s) m[s] = iq4_xs::sub_scale(w, s);
    }
    static LOWBIT_INLINE int8x16x2_t values(const decoded& w, int k) noexcept { return w.v[k]; }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        int32x4_t acc = vdupq_n_s32(0);
        for (int s = 0; s < 8; ++s) acc = vmlaq_n_s32(acc, partial_dot(w.v[s], a.qs + 32 * s, Tag{}), w.l[s]);
        return detail::rounded(static_cast<float>(vaddvq_s32(acc)) * (w.d * a.d.value()));
    }
};

}  // namespace neon_impl

inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const neon&) noexcept {
    return decoded_dot_blocks(neon_impl::iq4_xs_decoder<neon>{}, w, a, nblocks);
}
#if LOWBIT_HAVE_NEON_DOTPROD
inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks,
                        const neon_dotprod&) noexcept {
    return decoded_dot_blocks(neon_impl::iq4_xs_decoder<neon_dotprod>{}, w, a, nblocks);
}
#endif

/// Each GEMM row decoded once for the batch (make_panel: neon/kernels.hpp); on dotprod and i8mm, from
/// byte_panel_batch rows, byte panels.
template <class WFmt, class Tag, std::enable_if_t<std::is_same<WFmt, iq4_xs>::value, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const decoded_panel<q8_K>& p,
               const matmul_output& out, const Tag&) {
    const neon_impl::iq4_xs_decoder<Tag> decoder{};
    neon_impl::byte_panel_rows<Tag>(w, r0, r1, p.xq, out, decoder, [&] { decoded_rows(w, r0, r1, p.xq, out, decoder); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
