#pragma once
/// \file arch/kpacked.hpp
/// The micro-kernel of packed K weights (packed.hpp's K layout) and of byte panels (arch/byte_panel.hpp), written
/// once against a layout L (packed_layout<K format>'s fields, and the options below) and a vector-operations type V
/// that each backend provides: ymm_ops (AVX2, AVX-VNNI; arch/x86/gemm.hpp), zmm_ops (AVX-512 VNNI;
/// arch/avx512/gemm.hpp), q_ops (NEON dotprod) and mmla_ops (NEON i8mm; both arch/neon/gemm.hpp). Its outputs are
/// that backend's dot_blocks values, bit for bit: the same integer sums and the same float steps in the same order.
///
/// Per part (V::rows rows of a 16-row panel), super-block and activation row, the reference's integers
///   isum = sum_s sc_s * (dot_s - Z * bsum_s),  msum = sum_s m_s * bsum_s
/// are formed rearranged (exact in int32): dot_s, the sub-block's code x activation products, takes the int8 dot
/// (4 codes per lane a step); isum = sum_s sc_s * dot_s - Z * zsum. The bsum terms zsum = sum_s sc_s * bsum_s and
/// msum take one int16 pair dot per two 16-value bsums, read straight from the activation block: lane r holds
/// row r's scales (or mins) of the two sub-blocks those bsums cover, or a 32-value sub-block's min twice. The
/// float step is the backend's dot_blocks step: block b goes to float lane b % V::block_lanes of its row, and
/// V::sum_lanes adds the lanes in dot_blocks' order (a layout with one lane adds the terms in block order, then
/// multiplies by its factor, as decoded_dot_blocks does).
///
/// V provides (vi: int32 lanes, one row each; vf: float lanes):
///   rows, columns (activation rows per GEMM tile), block_lanes
///   load(p), move_bits<From, To, Width>(v) (per byte), bit_or, bit_and, set1, add, sub, mullo,
///   dot(acc, u, p) (acc + the 4 products of each lane's u8 codes and the 4 int8 at p, the activations shared
///   by every row), dot16(acc, w, p) (acc + the 2 products of each lane's int16 pair and the 2 int16 at p),
///   pair16<Signed>(lo, hi) (lane r: int16 lo[r], int16 hi[r]), shift_right16<N>,
///   widen_u8(p), widen_s8(p) (V::rows bytes to int32 lanes)
///   zero_f, set1_f, load_half(p) (V::rows fp16), load_f(p) (V::rows floats: float_d layouts), to_float, mul,
///   add_f, store_f, min_term(t, dm, msum) (t - dm * msum, rounded as dot_blocks does), sum_lanes(acc), prefetch<Bytes>(p)
/// and, optionally, code_sums<L, Part, C>(pb, a, isum) for the C it accepts (SFINAE): the same integers as
/// kpacked_impl::code_sums by other instructions (mmla_ops: smmla, for an even C).
#include "../core/matmul.hpp"
#include "../format/q8_K.hpp"
#include "../packed.hpp"

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

LOWBIT_NAMESPACE_BEGIN namespace arch { namespace kpacked_impl {

using detail::unroll;

/// Group G (codes 4G .. 4G+3) of the V::rows rows of part Part, as unsigned bytes.
template <class V, class L, int Part, int G>
LOWBIT_INLINE typename V::vi group_codes(const unsigned char* pb) noexcept {
    constexpr int wl = L::low_plane_bits, nl = 8 / wl, at = Part * 4 * V::rows;
    if constexpr (wl == 8) return V::load(pb + L::low_plane + 64 * G + at);  // whole bytes: no shift, no mask
    typename V::vi codes = V::template move_bits<wl * (G % nl), 0, wl>(V::load(pb + L::low_plane + 64 * (G / nl) + at));
    if constexpr (L::high_plane_bits > 0) {
        constexpr int wh = L::high_plane_bits, nh = 8 / wh;
        codes = V::bit_or(codes, V::template move_bits<wh * (G % nh), wl, wh>(V::load(pb + L::high_plane + 64 * (G / nh) + at)));
    }
    return codes;
}

/// What a layout may set beyond packed_kquant_offsets' fields (L::options: byte_panel_layout does), with the K
/// layouts' values.
struct kquant_options {
    static constexpr bool scaled = true;   // sub-block multipliers at L::sc (else each is 1 and there are none)
    static constexpr bool float_d = false; // d as V::rows floats (else fp16)
    static constexpr int block_lanes = 0;  // float lanes of the row sum, in dot_blocks' order (0: V::block_lanes)
    static constexpr float factor = 1.0f;  // the row sum's final multiplier
};
template <class L, class = void>
struct options_of {
    using type = kquant_options;
};
template <class L>
struct options_of<L, std::void_t<typename L::options>> {
    using type = typename L::options;
};

/// Lane r: the int16 pair weights of bsums 2K and 2K + 1 (see above).
template <class V, class L, int Part, int K>
LOWBIT_INLINE typename V::vi bsum_weights(const unsigned char* pb) noexcept {
    constexpr int at = Part * V::rows;
    if constexpr (!options_of<L>::type::scaled) return V::set1(0x00010001);
    else if constexpr (L::sub_block == 32 && L::has_min) return V::template pair16<false>(pb + L::m + 16 * K + at, pb + L::m + 16 * K + at);
    else if constexpr (L::sub_block == 32) return V::template pair16<L::signed_scales>(pb + L::sc + 16 * K + at, pb + L::sc + 16 * K + at);
    else if constexpr (L::min_in_scale_byte)
        return V::template shift_right16<4>(V::template pair16<false>(pb + L::sc + 32 * K + at, pb + L::sc + 32 * K + 16 + at));
    else return V::template pair16<L::signed_scales>(pb + L::sc + 32 * K + at, pb + L::sc + 32 * K + 16 + at);
}

/// Lane r: row r's scale of sub-block S.
template <class V, class L, int Part, int S>
LOWBIT_INLINE typename V::vi sub_scales(const unsigned char* pb) noexcept {
    constexpr int at = Part * V::rows;
    if constexpr (L::min_in_scale_byte) return V::bit_and(V::widen_u8(pb + L::sc + 16 * S + at), V::set1(15));
    else if constexpr (L::signed_scales) return V::widen_s8(pb + L::sc + 16 * S + at);
    else return V::widen_u8(pb + L::sc + 16 * S + at);
}

/// sum_s sc_s * dot_s (see above) of one super-block, part Part, for C activation rows: one V::dot per group and
/// activation row.
template <class V, class L, int Part, int C>
LOWBIT_INLINE void code_sums(const unsigned char* pb, const q8_K::block* const (&a)[C], typename V::vi (&isum)[C]) noexcept {
    using vi = typename V::vi;
    constexpr int groups = static_cast<int>(L::sub_block) / 4;
    unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { isum[c] = V::set1(0); });
    unroll<static_cast<int>(L::sub_blocks)>([&](auto sub) LOWBIT_INLINE_LAMBDA {
        constexpr int s = decltype(sub)::value;
        vi part[C];
        unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { part[c] = V::set1(0); });
        unroll<groups>([&](auto group) LOWBIT_INLINE_LAMBDA {
            constexpr int g = s * groups + decltype(group)::value;
            const vi codes = group_codes<V, L, Part, g>(pb);
            unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { part[c] = V::dot(part[c], codes, a[c]->qs + 4 * g); });
        });
        if constexpr (!options_of<L>::type::scaled) {
            unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { isum[c] = part[c]; });
        } else {
            const vi sc = sub_scales<V, L, Part, s>(pb);
            // Fenced: isum computed here, else GCC keeps every sub-block's sums live to the block's end and spills them.
            unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { isum[c] = detail::rounded(V::add(isum[c], V::mullo(part[c], sc))); });
        }
    });
}

/// Whether V has a code_sums of its own for C activation rows, which block_sums then takes instead of the one above.
template <class V, class L, int Part, int C, class = void>
struct own_code_sums : std::false_type {};
template <class V, class L, int Part, int C>
struct own_code_sums<V, L, Part, C,
                     std::void_t<decltype(V::template code_sums<L, Part, C>(
                         nullptr, std::declval<const q8_K::block* const (&)[C]>(), std::declval<typename V::vi (&)[C]>()))>>
    : std::true_type {};

/// isum and msum (see above) of one super-block, part Part, for C activation rows.
template <class V, class L, int Part, int C>
LOWBIT_INLINE void block_sums(const unsigned char* pb, const q8_K::block* const (&a)[C], typename V::vi (&isum)[C],
                              typename V::vi (&msum)[C]) noexcept {
    using vi = typename V::vi;
    static_assert(L::zero_point == 0 || !L::has_min, "one bsum term per format");
    if constexpr (own_code_sums<V, L, Part, C>::value) V::template code_sums<L, Part, C>(pb, a, isum);
    else code_sums<V, L, Part, C>(pb, a, isum);
    if constexpr (L::zero_point != 0 || L::has_min) {
        vi bsum_term[C];
        unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { bsum_term[c] = V::set1(0); });
        unroll<8>([&](auto pair) LOWBIT_INLINE_LAMBDA {
            constexpr int k = decltype(pair)::value;
            const vi w = bsum_weights<V, L, Part, k>(pb);
            unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { bsum_term[c] = V::dot16(bsum_term[c], w, &a[c]->bsums[2 * k]); });
        });
        unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA {
            if constexpr (L::has_min) msum[c] = bsum_term[c];
            else isum[c] = V::sub(isum[c], V::mullo(bsum_term[c], V::set1(L::zero_point)));
        });
    }
}

/// Lanes r: d of rows at + r.
template <class V, class L, int At>
LOWBIT_INLINE typename V::vf row_scales(const unsigned char* pb) noexcept {
    if constexpr (options_of<L>::type::float_d) return V::load_f(pb + L::d + 4 * At);
    else return V::load_half(pb + L::d + 2 * At);
}

/// The panel at `panel` (its blocks one after another, L::bytes each; rows row0 .. row0 + 15) times activation rows
/// c0 .. c0+C-1, parts P0 .. P0+P-1; outputs outside rows [r0, r1) are dropped. Stream: prefetch (GEMV).
template <class V, class L, int P0, int P, int C, bool Stream>
void tile(const unsigned char* panel, std::size_t nblocks, std::size_t row0, std::size_t c0, std::size_t r0,
          std::size_t r1, const const_qmatrix_view<q8_K>& xq, const matmul_output& out) {
    using O = typename options_of<L>::type;
    using vf = typename V::vf;
    constexpr std::size_t lanes = O::block_lanes ? O::block_lanes : V::block_lanes;
    vf acc[P][C][lanes];
    for (auto& part : acc)
        for (auto& column : part)
            for (auto& v : column) v = V::zero_f();
    for (std::size_t b = 0; b < nblocks; ++b) {
        const unsigned char* pb = panel + b * L::bytes;
        if constexpr (Stream) V::template prefetch<L::bytes>(pb);
        const q8_K::block* a[C];
        unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA { a[c] = xq.row(c0 + c) + b; });
        unroll<P>([&](auto part) LOWBIT_INLINE_LAMBDA {
            constexpr int q = decltype(part)::value, at = (P0 + q) * V::rows;
            typename V::vi isum[C], msum[C];
            block_sums<V, L, P0 + q, C>(pb, a, isum, msum);
            const vf dw = row_scales<V, L, at>(pb);
            unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA {
                const vf da = V::set1_f(a[c]->d.value());
                const vf term = detail::rounded(V::mul(V::mul(dw, da), V::to_float(isum[c])));
                vf& v = acc[q][c][b % lanes];
                if constexpr (L::has_min)
                    v = V::add_f(v, V::min_term(term, V::mul(V::load_half(pb + L::dmin + 2 * at), da), V::to_float(msum[c])));
                else
                    v = V::add_f(v, term);
            });
        });
    }
    for (int q = 0; q < P; ++q)
        for (int c = 0; c < C; ++c) {
            alignas(64) float sums[V::rows];
            if constexpr (lanes == 1) V::store_f(sums, O::factor == 1.0f ? acc[q][c][0] : V::mul(acc[q][c][0], V::set1_f(O::factor)));
            else V::store_f(sums, V::sum_lanes(acc[q][c]));
            for (int k = 0; k < V::rows; ++k) {
                const std::size_t r = row0 + V::rows * (P0 + q) + static_cast<std::size_t>(k);
                if (r >= r0 && r < r1) out.put(c0 + c, r, sums[k]);
            }
        }
}

/// One panel (see tile) times every activation row: GEMV takes every part of the panel per pass (the weights read
/// once, in order), GEMM one part x V::columns (then 4, then 1) activation rows per tile.
template <class V, class L>
void panel_rows(const unsigned char* panel, std::size_t nblocks, std::size_t row0, std::size_t r0, std::size_t r1,
                const const_qmatrix_view<q8_K>& xq, const matmul_output& out) {
    constexpr int parts = static_cast<int>(L::rows) / V::rows;
    const std::size_t batch = xq.rows();
    if (batch == 1) return tile<V, L, 0, parts, 1, true>(panel, nblocks, row0, 0, r0, r1, xq, out);
    unroll<parts>([&](auto part) LOWBIT_INLINE_LAMBDA {
        constexpr int q = decltype(part)::value;
        std::size_t c0 = 0;
        for (; c0 + V::columns <= batch; c0 += V::columns) tile<V, L, q, 1, V::columns, false>(panel, nblocks, row0, c0, r0, r1, xq, out);
        if constexpr (V::columns > 4)
            for (; c0 + 4 <= batch; c0 += 4) tile<V, L, q, 1, 4, false>(panel, nblocks, row0, c0, r0, r1, xq, out);
        for (; c0 < batch; ++c0) tile<V, L, q, 1, 1, false>(panel, nblocks, row0, c0, r0, r1, xq, out);
    });
}

/// gemm_rows on K-packed weights: panel_rows over the panels of rows [r0, r1).
template <class V, class WFmt>
void rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const const_qmatrix_view<q8_K>& xq,
          const matmul_output& out) {
    using L = packed_layout<WFmt>;
    for (std::size_t pi = r0 / L::rows; pi * L::rows < r1; ++pi)
        panel_rows<V, L>(w.block(pi, 0), w.blocks_per_row(), pi * L::rows, r0, r1, xq, out);
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::kpacked_impl
