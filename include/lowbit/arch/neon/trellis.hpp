#pragma once
/// \file arch/neon/trellis.hpp
/// NEON dot products of tcq2 and tcq3 (the reference is ref/trellis.hpp): each group of 32 weights decoded from its
/// 16 stream bytes (arch/trellis_groups.hpp: tbl gathers the words, vshl shifts each lane by its own amount), the
/// table values looked up with tbl over 64 bytes (tcq3's 128: tbl, then tbx for the upper half), then the int8 dot
/// of common.hpp against the q8_K activations; GEMM (decoded_rows) decodes each weight row once for the batch.
/// Quantize and dequantize are the reference's.
#include "../../core/matmul.hpp"
#include "../../ref/trellis.hpp"
#include "../trellis_groups.hpp"
#include "common.hpp"
#include "byte_panel.hpp"

#include <cstddef>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

/// A format's group constants for 128-bit registers, weights in order: register k holds weights 8k .. 8k + 7.
template <class Format>
struct trellis_q_groups {
    using geometry = trellis_groups<Format>;
    struct group {
        std::uint8_t u0[4][16];    // tbl: the word at byte c - 2 of each weight, relative to the group's base
        std::uint8_t u1[4][16];    // the word at byte c - 1
        std::int16_t left[4][8];   // 8 - r
        std::int16_t right[4][8];  // -r: vshl by a negative count shifts right
    };
    static constexpr group make(int g) noexcept {
        group out{};
        for (int reg = 0; reg < 4; ++reg)
            for (int lane = 0; lane < 8; ++lane) {
                const int i = 8 * reg + lane, c = geometry::byte(g, i), r = geometry::shift(g, i);
                out.u0[reg][2 * lane] = static_cast<std::uint8_t>(c - 2);
                out.u0[reg][2 * lane + 1] = static_cast<std::uint8_t>(c - 1);
                out.u1[reg][2 * lane] = static_cast<std::uint8_t>(c - 1);
                out.u1[reg][2 * lane + 1] = static_cast<std::uint8_t>(c);
                out.left[reg][lane] = static_cast<std::int16_t>(8 - r);
                out.right[reg][lane] = static_cast<std::int16_t>(-r);
            }
        return out;
    }
    static constexpr group groups[4] = {make(0), make(1), make(2), make(3)};
};

/// The 16 stream bytes from byte Base (see x86's group_bytes: read earlier and shifted past the block's end, the
/// stream's last two bytes first for Base = -2).
template <class Block, int Base>
LOWBIT_INLINE uint8x16_t group_bytes(const Block& b) noexcept {
    constexpr int stream = Block::format::code::stream_bytes, size = sizeof(Block);
    static_assert(offsetof(Block, qs) == 0, "the stream starts the block");
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&b);  // the whole block: a load may cover d too
    if constexpr (Base < 0) {
        static_assert(Base == -2, "a group starts at most two bytes before the stream");
        const uint8x16_t head = vld1q_u8(bytes), tail = vld1q_u8(bytes + (stream - 16));
        return vextq_u8(tail, head, 14);
    } else if constexpr (Base + 16 > size) {
        return vextq_u8(vld1q_u8(bytes + (size - 16)), vdupq_n_u8(0), Base + 16 - size);
    } else {
        return vld1q_u8(bytes + Base);
    }
}

/// The table indices of 8 weights (16-bit lanes).
template <class Format>
LOWBIT_INLINE uint16x8_t group_indices(uint8x16_t bytes, const typename trellis_q_groups<Format>::group& g,
                                       int reg) noexcept {
    using code = typename Format::code;
    const uint16x8_t u0 = vreinterpretq_u16_u8(vqtbl1q_u8(bytes, vld1q_u8(g.u0[reg])));
    const uint16x8_t u1 = vreinterpretq_u16_u8(vqtbl1q_u8(bytes, vld1q_u8(g.u1[reg])));
    const uint16x8_t bits = vorrq_u16(vshlq_u16(u1, vld1q_s16(g.left[reg])), vshlq_u16(u0, vld1q_s16(g.right[reg])));
    const auto low_bits = static_cast<std::uint16_t>(0xFFFFu << (16 - code::window_bits));  // older than the window
    const uint16x8_t window = vandq_u16(bits, vdupq_n_u16(low_bits));
    const uint16x8_t product = vmulq_u16(window, vdupq_n_u16(static_cast<std::uint16_t>(code::multiplier)));
    return vshrq_n_u16(product, 16 - code::index_bits);
}

/// The format's table in 64-byte parts, for tbl.
template <class Format>
struct trellis_table {
    static constexpr int parts = (1 << Format::code::index_bits) / 64;
    int8x16x4_t part[parts];
    trellis_table() noexcept {
        for (int k = 0; k < parts; ++k) part[k] = vld1q_s8_x4(Format::values + 64 * k);
    }
    /// values[i] for 16 byte indices i < 2^q.
    LOWBIT_INLINE int8x16_t operator()(uint8x16_t i) const noexcept {
        int8x16_t v = vqtbl4q_s8(part[0], i);
        if constexpr (parts == 2) v = vqtbx4q_s8(v, part[1], vsubq_u8(i, vdupq_n_u8(64)));  // i < 64 wraps out of range
        return v;
    }
};

/// Group G's 32 values, in weight order.
template <class Block, int G>
LOWBIT_INLINE int8x16x2_t group_values(const Block& w, const trellis_table<typename Block::format>& table) noexcept {
    using format = typename Block::format;
    using geometry = trellis_groups<format>;
    constexpr auto& g = trellis_q_groups<format>::groups[G % 4];
    const uint8x16_t bytes = group_bytes<Block, geometry::base(G % 4) + (G / 4) * geometry::period_bytes>(w);
    int8x16x2_t v;
    for (int h = 0; h < 2; ++h)
        v.val[h] = table(vcombine_u8(vmovn_u16(group_indices<format>(bytes, g, 2 * h)),
                                     vmovn_u16(group_indices<format>(bytes, g, 2 * h + 1))));
    return v;
}

template <class Block, class Tag, int... G>
LOWBIT_INLINE int32x4_t trellis_block_dot(const Block& w, const std::int8_t* aq,
                                          const trellis_table<typename Block::format>& table, const Tag& tag,
                                          std::integer_sequence<int, G...>) noexcept {
    int32x4_t acc = vdupq_n_s32(0);
    ((acc = vaddq_s32(acc, partial_dot(group_values<Block, G>(w, table), aq + 32 * G, tag))), ...);
    return acc;
}

/// A block's term of the sum: float(isum) * (d_w * d_a), as the reference rounds it.
LOWBIT_INLINE float trellis_term(int32x4_t acc, float d, const q8_K::block& a) noexcept {
    return detail::rounded(static_cast<float>(vaddvq_s32(acc)) * (d * a.d.value()));
}

/// With q8_K activations: per block the exact isum, then sum += float(isum) * (d_w * d_a) in block order: the
/// reference's float steps, so its result bit for bit.
template <class Block, class Tag>
inline float trellis_dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const Tag& tag) noexcept {
    const trellis_table<typename Block::format> table;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b)
        sum += trellis_term(trellis_block_dot(w[b], a[b].qs, table, tag, std::make_integer_sequence<int, 8>{}),
                            load_half(w[b].d), a[b]);
    return sum;
}

/// decoded_rows' Decoder (core/matmul.hpp) of a trellis format: a block's 256 values and its scale; term() takes
/// trellis_dot_blocks' steps, so a GEMM output is dot_blocks' bit for bit, with the row decoded once for the batch.
template <class Fmt, class Tag>
struct trellis_decoder {
    struct decoded {
        int8x16x2_t v[8];
        float d;
    };
    static constexpr float factor = 1.0f;
    static constexpr std::size_t sub_block = qk_k;  // byte panels' (arch/byte_panel.hpp) interface
    trellis_table<Fmt> table;
    LOWBIT_INLINE void decode(const typename Fmt::block& w, decoded& out) const noexcept {
        detail::unroll<8>([&](auto g) LOWBIT_INLINE_LAMBDA {
            out.v[g] = group_values<typename Fmt::block, decltype(g)::value>(w, table);
        });
        out.d = load_half(w.d);
    }
    static LOWBIT_INLINE int8x16x2_t values(const decoded& w, int k) noexcept { return w.v[k]; }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        int32x4_t acc = vdupq_n_s32(0);
        for (int k = 0; k < 8; ++k) acc = vaddq_s32(acc, partial_dot(w.v[k], a.qs + 32 * k, Tag{}));
        return trellis_term(acc, w.d, a);
    }
};

}  // namespace neon_impl

template <class Block, ref::if_trellis_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon& tag) noexcept {
    return neon_impl::trellis_dot_blocks(w, a, nblocks, tag);
}
#if LOWBIT_HAVE_NEON_DOTPROD
template <class Block, ref::if_trellis_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const neon_dotprod& tag) noexcept {
    return neon_impl::trellis_dot_blocks(w, a, nblocks, tag);
}
#endif

/// Each GEMM row decoded once for the batch (make_panel: neon/kernels.hpp); on dotprod and i8mm, from
/// byte_panel_batch rows, byte panels.
template <class WFmt, class Tag, ref::if_trellis_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const decoded_panel<q8_K>& p,
               const matmul_output& out, const Tag& tag) {
    const neon_impl::trellis_decoder<WFmt, Tag> decoder{};
    neon_impl::byte_panel_rows<Tag>(w, r0, r1, p.xq, out, decoder, [&] {
        decoded_rows(w, r0, r1, p.xq, out, decoder, [&](std::size_t r) {
            return neon_impl::trellis_dot_blocks(w.row(r), p.xq.row(0), w.blocks_per_row(), tag);
        });
    });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
