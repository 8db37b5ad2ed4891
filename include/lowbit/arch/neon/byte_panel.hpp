#pragma once
/// \file arch/neon/byte_panel.hpp
/// NEON dotprod's and i8mm's byte panels (arch/byte_panel.hpp): signed codes v, which sdot and smmla take as
/// they are (no zero point, so no bsum term), written from each family's Decoder 4 rows at a time by a 4 x 4
/// transpose of 4-weight groups, and multiplied by the K-packed kernel with q_ops (sdot) or, on i8mm, mmla_ops
/// (smmla for an even number of columns). Plain NEON keeps decoded_rows.
#include "../byte_panel.hpp"
#include "gemm.hpp"

#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

#if LOWBIT_HAVE_NEON_DOTPROD
/// Rows p0 .. p0 + n - 1 of w (n <= 16) decoded into `panel` (byte_panel_layout<Decoder, 0>, one after another per
/// block); the rows past n get zero weights, multipliers and d.
template <class Decoder, class WFmt>
void decode_byte_panel(const Decoder& decoder, const_qmatrix_view<WFmt> w, std::size_t p0, std::size_t n, unsigned char* panel) {
    using L = byte_panel_layout<Decoder, 0>;
    const int8x16x2_t zero = {{vdupq_n_s8(0), vdupq_n_s8(0)}};
    for (std::size_t b = 0; b < w.blocks_per_row(); ++b) {
        unsigned char* pb = panel + b * L::bytes;
        for (std::size_t quarter = 0; quarter < 4; ++quarter) {
            typename Decoder::decoded row[4];
            decode_panel_rows<L>(decoder, w, p0, n, b, 4 * quarter, row, pb);
            for (int k = 0; k < 8; ++k) {
                int8x16x2_t v[4];
                for (std::size_t j = 0; j < 4; ++j) v[j] = 4 * quarter + j < n ? Decoder::values(row[j], k) : zero;
                for (int h = 0; h < 2; ++h) {
                    // x_j: groups 8k + 4h .. 8k + 4h + 3 of row j; out[g]: group 8k + 4h + g of the 4 rows.
                    const int32x4_t t0 = vtrn1q_s32(vreinterpretq_s32_s8(v[0].val[h]), vreinterpretq_s32_s8(v[1].val[h]));
                    const int32x4_t t1 = vtrn2q_s32(vreinterpretq_s32_s8(v[0].val[h]), vreinterpretq_s32_s8(v[1].val[h]));
                    const int32x4_t t2 = vtrn1q_s32(vreinterpretq_s32_s8(v[2].val[h]), vreinterpretq_s32_s8(v[3].val[h]));
                    const int32x4_t t3 = vtrn2q_s32(vreinterpretq_s32_s8(v[2].val[h]), vreinterpretq_s32_s8(v[3].val[h]));
                    const int64x2_t out[4] = {vtrn1q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)),
                                              vtrn1q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)),
                                              vtrn2q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)),
                                              vtrn2q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3))};
                    for (int g = 0; g < 4; ++g)
                        vst1q_s64(reinterpret_cast<std::int64_t*>(pb + L::low_plane + 64 * (8 * k + 4 * h + g) + 16 * quarter), out[g]);
                }
            }
        }
    }
}

/// gemm_rows of a Decoder's format on backend Tag: through byte panels (arch::byte_panel_rows) on neon_dotprod and
/// neon_i8mm, else fewer() (the decoded_rows path), which the panels also take below byte_panel_batch rows.
template <class Tag, class Decoder, class WFmt, class Fewer>
void byte_panel_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const const_qmatrix_view<q8_K>& xq,
                     const matmul_output& out, const Decoder& decoder, Fewer&& fewer) {
    if constexpr (std::is_base_of<neon_dotprod, Tag>::value) {
        using L = byte_panel_layout<Decoder, 0>;
        const auto decode = [&](std::size_t p0, std::size_t n, unsigned char* panel) { decode_byte_panel(decoder, w, p0, n, panel); };
#if LOWBIT_HAVE_NEON_I8MM
        if constexpr (std::is_base_of<neon_i8mm, Tag>::value)
            return arch::byte_panel_rows<mmla_ops, L>(w.blocks_per_row(), r0, r1, xq, out, decode, fewer);
#endif
        return arch::byte_panel_rows<q_ops, L>(w.blocks_per_row(), r0, r1, xq, out, decode, fewer);
    }
    fewer();
}
#else
/// Without sdot: the decoded_rows path, fewer().
template <class Tag, class Decoder, class WFmt, class Fewer>
void byte_panel_rows(const_qmatrix_view<WFmt>, std::size_t, std::size_t, const const_qmatrix_view<q8_K>&,
                     const matmul_output&, const Decoder&, Fewer&& fewer) {
    fewer();
}
#endif

}  // namespace neon_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
