#pragma once
/// \file arch/neon/lattice.hpp
/// NEON dot products of the codebook formats iq1_s ... iq3_s (the reference is ref/lattice.hpp): per 32 weights the
/// grid entries are loaded whole from the format's byte grid (ref::grid_bytes), the signs (or iq1's shifts) applied
/// by a bit test, the int8 dot of common.hpp against the q8_K activations (per 16 weights where the sub-block
/// scale changes every 16), times the multipliers 2s + 1. GEMM (lattice_rows) decodes each weight row once for the
/// batch and then takes the same steps per output. Quantize and dequantize are the reference's.
#include "../../core/matmul.hpp"
#include "../../ref/lattice.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

/// 16 bytes, 0xFF where bit i % 8 of byte i / 8 of `bits` is set (bits: two sign bytes).
LOWBIT_INLINE int8x16_t bit_mask16(std::uint32_t bits) noexcept {
    const uint8x16_t spread = vcombine_u8(vdup_n_u8(static_cast<std::uint8_t>(bits)), vdup_n_u8(static_cast<std::uint8_t>(bits >> 8)));
    const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ULL));
    return vreinterpretq_s8_u8(vtstq_u8(spread, bit));
}

/// Weights 32k + 16h .. + 15 as signed bytes v (weight = unit * v), from their grid indices and sign bits.
template <class Fmt>
LOWBIT_INLINE int8x16_t lattice_values16(const int* index, std::uint32_t signs) noexcept {
    const auto& g = ref::grid_bytes<Fmt>.entry;
    int8x16_t entries;
    if constexpr (Fmt::grid_width == 8) {
        entries = vreinterpretq_s8_u64(vcombine_u64(vcreate_u64(g[index[0]]), vcreate_u64(g[index[1]])));
    } else {
        const std::uint32_t four[4] = {g[index[0]], g[index[1]], g[index[2]], g[index[3]]};
        entries = vreinterpretq_s8_u32(vld1q_u32(four));
    }
    const int8x16_t m = bit_mask16(signs);
    if constexpr (Fmt::delta_group != 0)  // 8 g + 1, or 8 g - 1 where the shift is negative
        return vaddq_s8(entries, vorrq_s8(m, vdupq_n_s8(1)));
    else
        return vsubq_s8(veorq_s8(entries, m), m);
}

/// Weights 32k .. 32k + 31 of a block as signed bytes (two vectors).
template <class Fmt>
LOWBIT_INLINE int8x16x2_t lattice_values32(const typename Fmt::block& b, int k) noexcept {
    constexpr int per16 = 16 / Fmt::grid_width;
    int index[32 / Fmt::grid_width];
    const std::uint32_t signs = ref::indices32<Fmt>(b, k, index);
    return {{lattice_values16<Fmt>(index, signs), lattice_values16<Fmt>(index + per16, signs >> 16)}};
}

/// acc + the products of weights 32k .. 32k + 31 (v) with the q8_K activations at aq, times the multipliers 2s + 1
/// (scale: the block's sub_scales): per 16 weights where the sub-block scale changes every 16.
template <class Fmt, class Tag>
LOWBIT_INLINE int32x4_t lattice_products(int32x4_t acc, int8x16x2_t v, const int* scale, int k, const std::int8_t* aq,
                                         const Tag& tag) noexcept {
    if constexpr (Fmt::scale_group == 16) {  // each half with its own multiplier
        const int8x16_t zero = vdupq_n_s8(0);
        acc = vmlaq_n_s32(acc, partial_dot({{v.val[0], zero}}, aq, tag), 2 * scale[2 * k] + 1);
        return vmlaq_n_s32(acc, partial_dot({{zero, v.val[1]}}, aq, tag), 2 * scale[2 * k + 1] + 1);
    } else {
        return vmlaq_n_s32(acc, partial_dot(v, aq, tag), 2 * scale[k] + 1);
    }
}

/// One super-block's term of the row sum: float(isum) * (d_w * d_a), rounded as the reference rounds it.
LOWBIT_INLINE float lattice_term(int32x4_t isum_lanes, float d, const q8_K::block& a) noexcept {
    return detail::rounded(static_cast<float>(vaddvq_s32(isum_lanes)) * (d * a.d.value()));
}

/// With q8_K activations: per super-block the exact isum, then sum += float(isum) * (d_w * d_a) in block order
/// and the result times dot_factor: the reference's float steps, so its result bit for bit.
template <class Block, class Tag>
inline float lattice_dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const Tag& tag) noexcept {
    using Fmt = typename Block::format;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int scale[16];
        ref::sub_scales<Fmt>(w[b], scale);
        int32x4_t acc = vdupq_n_s32(0);
        for (int k = 0; k < 8; ++k)
            acc = lattice_products<Fmt>(acc, lattice_values32<Fmt>(w[b], k), scale, k, a[b].qs + 32 * k, tag);
        sum += lattice_term(acc, fp16_to_fp32(Fmt::scale_bits(w[b])), a[b]);
    }
    return sum * Fmt::dot_factor;
}

/// A super-block decoded for the GEMM: weights 32k .. 32k + 31 as v[k], the sub-block scales and d.
struct lattice_decoded {
    int8x16x2_t v[8];
    int scale[16];
    float d;
};

/// A decoded row times activation rows c0 .. c0 + C - 1: lattice_dot_blocks' integers and float steps, so each
/// output is dot_blocks' bit for bit, with the grid lookups done once for the batch.
template <class Fmt, int C, class Tag>
void lattice_tile(const lattice_decoded* row, std::size_t nblocks, std::size_t r, std::size_t c0,
                  const_qmatrix_view<q8_K> xq, const matmul_output& out, const Tag& tag) {
    const q8_K::block* a[C];
    float sum[C];
    for (int c = 0; c < C; ++c) {
        a[c] = xq.row(c0 + c);
        sum[c] = 0.0f;
    }
    for (std::size_t b = 0; b < nblocks; ++b) {
        int32x4_t acc[C];
        for (int c = 0; c < C; ++c) acc[c] = vdupq_n_s32(0);
        for (int k = 0; k < 8; ++k)
            for (int c = 0; c < C; ++c)
                acc[c] = lattice_products<Fmt>(acc[c], row[b].v[k], row[b].scale, k, a[c][b].qs + 32 * k, tag);
        for (int c = 0; c < C; ++c) sum[c] += lattice_term(acc[c], row[b].d, a[c][b]);
    }
    for (int c = 0; c < C; ++c) out.put(c0 + c, r, sum[c] * Fmt::dot_factor);
}

/// The codebook formats' panel on NEON: the q8_K activations (a type of its own, which selects lattice_rows).
struct lattice_panel {
    const_qmatrix_view<q8_K> xq;
};

/// gemm_rows of the codebook formats: GEMV row by row (lattice_dot_blocks); GEMM decodes each row once into
/// scratch and multiplies it by 4 activation rows per tile.
template <class WFmt, class Tag>
void lattice_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const_qmatrix_view<q8_K> xq,
                  const matmul_output& out, const Tag& tag) {
    const std::size_t nblocks = w.blocks_per_row();
    decoded_rows<lattice_decoded>(
        w, r0, r1, xq.rows(),
        [&](std::size_t r) { out.put(0, r, lattice_dot_blocks(w.row(r), xq.row(0), nblocks, tag)); },
        [](const typename WFmt::block& block, lattice_decoded& d) {
            ref::sub_scales<WFmt>(block, d.scale);
            for (int k = 0; k < 8; ++k) d.v[k] = lattice_values32<WFmt>(block, k);
            d.d = fp16_to_fp32(WFmt::scale_bits(block));
        },
        [&](const lattice_decoded* row, std::size_t r, std::size_t c0, auto tile_rows) {
            lattice_tile<WFmt, decltype(tile_rows)::value>(row, nblocks, r, c0, xq, out, tag);
        });
}

}  // namespace neon_impl

template <class Block, ref::if_lattice_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon& tag) noexcept {
    return neon_impl::lattice_dot_blocks(w, a, nblocks, tag);
}
#if LOWBIT_HAVE_NEON_DOTPROD
template <class Block, ref::if_lattice_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon_dotprod& tag) noexcept {
    return neon_impl::lattice_dot_blocks(w, a, nblocks, tag);
}
#endif

/// NEON and NEON dotprod: each GEMM row decoded once for the batch (lattice_rows).
template <class WBlock, class Tag, ref::if_lattice_format<WBlock> = 0, std::enable_if_t<std::is_base_of<neon, Tag>::value, int> = 0>
neon_impl::lattice_panel make_panel(const WBlock*, const_qmatrix_view<q8_K> xq, const Tag&) {
    return {xq};
}

template <class WFmt, class Tag, ref::if_lattice_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const neon_impl::lattice_panel& p,
               const matmul_output& out, const Tag& tag) {
    neon_impl::lattice_rows(w, r0, r1, p.xq, out, tag);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
