#pragma once
/// \file arch/neon/lattice.hpp
/// NEON dot products of the codebook formats iq1_s ... iq3_s (the reference is ref/lattice.hpp): per 32 weights the
/// grid entries are loaded whole from the format's byte grid (ref::grid_bytes), the signs (or iq1's shifts) applied
/// by a bit test, the int8 dot of common.hpp against the q8_K activations (per 16 weights where the sub-block
/// scale changes every 16), times the multipliers 2s + 1. GEMM (decoded_rows) decodes each weight row once for the
/// batch and then takes the same steps per output. Quantize and dequantize are the reference's.
#include "../../core/matmul.hpp"
#include "../../ref/lattice.hpp"
#include "common.hpp"
#include "byte_panel.hpp"

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

/// decoded_rows' Decoder (core/matmul.hpp) of a codebook format: a super-block's weights 32k .. 32k + 31 as v[k], its
/// sub-block scales and d; term() takes lattice_dot_blocks' steps, so a GEMM output is dot_blocks' bit for bit, with
/// the grid lookups done once for the batch.
template <class Fmt, class Tag>
struct lattice_decoder {
    struct decoded {
        int8x16x2_t v[8];
        int scale[16];
        float d;
    };
    static constexpr float factor = Fmt::dot_factor;
    static constexpr std::size_t sub_block = Fmt::scale_group;  // byte panels' (arch/byte_panel.hpp) interface
    static LOWBIT_INLINE void decode(const typename Fmt::block& block, decoded& d) noexcept {
        ref::sub_scales<Fmt>(block, d.scale);
        for (int k = 0; k < 8; ++k) d.v[k] = lattice_values32<Fmt>(block, k);
        d.d = fp16_to_fp32(Fmt::scale_bits(block));
    }
    static void multipliers(const typename Fmt::block& w, int* m) noexcept {
        ref::sub_scales<Fmt>(w, m);
        for (std::size_t s = 0; s < qk_k / sub_block; ++s) m[s] = 2 * m[s] + 1;
    }
    static LOWBIT_INLINE int8x16x2_t values(const decoded& w, int k) noexcept { return w.v[k]; }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        int32x4_t acc = vdupq_n_s32(0);
        for (int k = 0; k < 8; ++k) acc = lattice_products<Fmt>(acc, w.v[k], w.scale, k, a.qs + 32 * k, Tag{});
        return lattice_term(acc, w.d, a);
    }
};

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

/// Each GEMM row decoded once for the batch (make_panel: neon/kernels.hpp); on dotprod and i8mm, from
/// byte_panel_batch rows, byte panels.
template <class WFmt, class Tag, ref::if_lattice_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const decoded_panel<q8_K>& p,
               const matmul_output& out, const Tag& tag) {
    const neon_impl::lattice_decoder<WFmt, Tag> decoder{};
    neon_impl::byte_panel_rows<Tag>(w, r0, r1, p.xq, out, decoder, [&] {
        decoded_rows(w, r0, r1, p.xq, out, decoder, [&](std::size_t r) {
            return neon_impl::lattice_dot_blocks(w.row(r), p.xq.row(0), w.blocks_per_row(), tag);
        });
    });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
