#pragma once
/// \file ref/matmul.hpp
/// Matrix-product hooks behind lowbit::gemv / lowbit::gemm (matmul.hpp), and their generic version.
///
/// A backend speeds up a weight format by overloading two functions on (weight block, tag), as for the other
/// kernels; the generic overloads below, taking `const scalar&`, serve every format and every other backend:
///
///   make_panel(const WBlock*, const_qmatrix_view<activation format> xq, const Tag&) -> panel
///       Called once per product, before the work is split: reads the quantized activations (batch rows of K)
///       and may precompute what every output row needs. The panel must stay valid while xq does.
///   gemm_rows(const_qmatrix_view<weight format> w, std::size_t r0, std::size_t r1, const panel&,
///             const matmul_output&, const Tag&)
///       Computes out(c, r) = dot(row r of w, row c of xq) for r in [r0, r1) and every c < batch, and hands
///       each one to out.put(c, r, value). Called concurrently on disjoint row ranges.
///   gemm_rows(const_packed_view<weight format> w, ...)
///       The same for a matrix made by lowbit::pack (packed.hpp); r0 is a multiple of 16. It must give the same
///       value as the plain overload on the same backend, bit for bit.
///
/// Plain weights at a batch of packing_batch rows or more go through the packed overload when the backend has one
/// (gemm_rows_packing below): each 16-row panel is packed on the fly (pack_panel, which a backend may overload with
/// a faster one writing the same bytes), which pays for itself over the batch.
///
/// Thread-count invariance: the value of out(c, r) must not depend on r0, r1 or the batch size, only on the
/// row and column it combines, so that any split of the rows gives bit-identical results.
#include "../packed.hpp"
#include "../view.hpp"
#include "backends.hpp"
#include "scratch.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// Where the products go: y(c, r) at y + c * stride + r (batch row c, output r), and how they are finished.
/// put() rounds in a fixed order: v + bias[r] first, then (when accumulating) y(c, r) + that.
struct matmul_output {
    float* y;
    std::size_t stride;       // floats between consecutive batch rows of y
    const float* bias;        // nullptr, or one value per output r
    bool accumulate;

    void put(std::size_t c, std::size_t r, float v) const noexcept {
        if (bias) v = v + bias[r];
        float& out = y[c * stride + r];
        out = accumulate ? out + v : v;
    }
};

/// The generic panel: the activations themselves; each output is one dot_blocks call.
template <class AFmt>
struct dot_panel {
    const_qmatrix_view<AFmt> xq;
};

template <class WBlock>
dot_panel<typename WBlock::format::activation> make_panel(
    const WBlock*, const_qmatrix_view<typename WBlock::format::activation> xq, const scalar&) {
    return {xq};
}

/// dot_blocks(row r, row c, Tag) for every pair, visited in tiles of 4 x 4 so that each weight row is read
/// from cache (not memory) for the later activation rows. Tag is the backend the call came from: its
/// dot_blocks is used (the tag's best overload), even though this gemm_rows is the generic one.
template <class WFmt, class AFmt, class Tag>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
               const dot_panel<AFmt>& panel, const matmul_output& out, const Tag& tag) {
    constexpr std::size_t tile = 4;
    const std::size_t batch = panel.xq.rows(), nblocks = w.blocks_per_row();
    for (std::size_t rt = r0; rt < r1; rt += tile)
        for (std::size_t ct = 0; ct < batch; ct += tile)
            for (std::size_t r = rt; r < std::min(rt + tile, r1); ++r)
                for (std::size_t c = ct; c < std::min(ct + tile, batch); ++c)
                    out.put(c, r, dot_blocks(w.row(r), panel.xq.row(c), nblocks, tag));
}

/// Packed weights on a backend without a packed micro-kernel: each row is unpacked to its plain blocks, then
/// multiplied as above (so the values are the plain overload's).
template <class WFmt, class AFmt, class Tag>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
               const dot_panel<AFmt>& panel, const matmul_output& out, const Tag& tag) {
    const std::size_t batch = panel.xq.rows(), nblocks = w.blocks_per_row();
    detail::scratch<typename WFmt::block> row(nblocks);
    for (std::size_t r = r0; r < r1; ++r) {
        unpack_row(w, r, row.data());
        for (std::size_t c = 0; c < batch; ++c) out.put(c, r, dot_blocks(row.data(), panel.xq.row(c), nblocks, tag));
    }
}

/// The batch from which plain weights of WFmt are packed on the fly. Measured on Zen 4 (AVX-512 VNNI, 1 thread,
/// 4096x4096): packing the 32-value formats costs ~0.4 ns per weight and their packed kernel is ~1.6x the plain
/// one, so q4_0 gains ~1.2x at 64 (q8_0 breaks even). Packing K panels on the fly costs 0.2-0.45 ns per weight
/// (3.3-7.3 ms a 4096x4096 matrix) and saves 0.3-0.4 ms per batch row (packed kernel 0.11-0.15 ms against the
/// plain K kernel's 0.41-0.53 ms): it breaks even at 9 (q2_K) to 20 (q5_K) rows, so K formats are packed from 32.
template <class WFmt>
constexpr std::size_t packing_batch() {
    return packed_layout<WFmt>::kquant ? 32 : 64;
}

/// The panel Tag's make_panel makes for WFmt's activations.
template <class WFmt, class Tag>
using panel_t = decltype(make_panel(static_cast<const typename WFmt::block*>(nullptr),
                                    std::declval<const_qmatrix_view<typename WFmt::activation>>(), Tag{}));

/// True when Tag multiplies WFmt through the generic dot_panel (one dot_blocks call per output).
template <class WFmt, class Tag>
constexpr bool generic_panel() {
    return std::is_same<panel_t<WFmt, Tag>, dot_panel<typename WFmt::activation>>::value;
}

/// True when Tag has a packed micro-kernel for WFmt (its panel is not the generic dot_panel) worth packing for.
template <class WFmt, class Tag>
constexpr bool packs_on_the_fly() {
    if constexpr (!packed_layout<WFmt>::supported) return false;
    else return !generic_panel<WFmt, Tag>();
}

/// Rows p0 .. p0 + n - 1 of w (n <= 16; the rest zero blocks) as one packed panel of blocks_per_row blocks at
/// `bytes`: detail::pack_block_row, the layout's definition. A backend may bring a faster one writing the same bytes.
template <class WFmt>
void pack_panel(const_qmatrix_view<WFmt> w, std::size_t p0, std::size_t n, unsigned char* bytes, const scalar&) {
    using L = packed_layout<WFmt>;
    const typename WFmt::block zero{};
    for (std::size_t r = 0; r < L::rows; ++r) {
        const typename WFmt::block* row = r < n ? w.row(p0 + r) : nullptr;
        for (std::size_t b = 0; b < w.blocks_per_row(); ++b)
            detail::pack_block_row<WFmt>(row ? row[b] : zero, r, bytes + b * L::bytes);
    }
}

/// Plain weights through the packed kernel: each 16-row panel of [r0, r1) (r0 a multiple of 16) is packed into a
/// scratch panel, then multiplied by every activation row. Bit-identical to the plain overload, since the packed
/// one is.
template <class WFmt, class Panel, class Tag>
void gemm_rows_packing(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const Panel& panel,
                       const matmul_output& out, const Tag& tag) {
    using L = packed_layout<WFmt>;
    const std::size_t nblocks = w.blocks_per_row();
    detail::scratch<unsigned char> bytes(nblocks * L::bytes);
    for (std::size_t p0 = r0; p0 < r1; p0 += L::rows) {
        const std::size_t n = std::min(L::rows, r1 - p0);
        pack_panel(w, p0, n, bytes.data(), tag);
        const const_packed_view<WFmt> packed(unchecked_t{}, bytes.data(), n, w.cols());
        const matmul_output at{out.y + p0, out.stride, out.bias ? out.bias + p0 : nullptr, out.accumulate};
        gemm_rows(packed, 0, n, panel, at, tag);
    }
}

/// The panel a backend may give the formats it multiplies with decoded_rows: the activations, as a type of its own
/// that selects their gemm_rows.
template <class AFmt>
struct decoded_panel {
    const_qmatrix_view<AFmt> xq;
};

/// gemm_rows of formats whose blocks cost more to decode than to multiply (the codebook, trellis and ternary formats,
/// iq4_xs): with one activation row, dot_row(r) gives output r; with more, row r is decoded once into scratch and
/// multiplied by four activation rows per tile, then one. Decoder (a backend's, per format) provides
///   decoded                          a block decoded (its values in registers' form, its scales)
///   decode(block, decoded&)
///   term(const decoded&, activation block) -> float   the block's rounded term of the row sum
///   factor                           the row sum's final multiplier (a power of two; 1 for most formats)
/// and each output is (term_0 + term_1 + ...) * factor, added in block order: the backend's dot_blocks must take
/// the same steps, so that an output is dot_row's bit for bit (GEMV row == GEMM row). The VNNI, NEON dotprod and
/// NEON i8mm backends take byte panels instead from byte_panel_batch activation rows (arch/byte_panel.hpp).
template <class Decoder, class WFmt, class DotRow>
void decoded_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
                  const_qmatrix_view<typename WFmt::activation> xq, const matmul_output& out, const Decoder& decoder,
                  DotRow&& dot_row) {
    const std::size_t batch = xq.rows(), nblocks = w.blocks_per_row();
    if (batch == 1) {
        for (std::size_t r = r0; r < r1; ++r) out.put(0, r, dot_row(r));
        return;
    }
    detail::scratch<typename Decoder::decoded> row(nblocks);
    const auto tile = [&](std::size_t r, std::size_t c0, auto columns) {
        constexpr int C = decltype(columns)::value;
        const typename WFmt::activation::block* a[C];
        float sum[C];
        for (int c = 0; c < C; ++c) {
            a[c] = xq.row(c0 + c);
            sum[c] = 0.0f;
        }
        for (std::size_t b = 0; b < nblocks; ++b)
            for (int c = 0; c < C; ++c) sum[c] += decoder.term(row[b], a[c][b]);
        for (int c = 0; c < C; ++c) out.put(c0 + c, r, sum[c] * Decoder::factor);
    };
    for (std::size_t r = r0; r < r1; ++r) {
        for (std::size_t b = 0; b < nblocks; ++b) decoder.decode(w.row(r)[b], row[b]);
        std::size_t c0 = 0;
        for (; c0 + 4 <= batch; c0 += 4) tile(r, c0, std::integral_constant<int, 4>{});
        for (; c0 < batch; ++c0) tile(r, c0, std::integral_constant<int, 1>{});
    }
}

/// A row's dot with a Decoder of decoded_rows: its block terms in block order, times factor.
template <class Decoder, class WBlock, class ABlock>
inline float decoded_dot_blocks(const Decoder& decoder, const WBlock* w, const ABlock* a,
                                std::size_t nblocks) noexcept {
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        typename Decoder::decoded d;
        decoder.decode(w[b], d);
        sum += decoder.term(d, a[b]);
    }
    return sum * Decoder::factor;
}

/// decoded_rows whose GEMV is decoded_dot_blocks.
template <class Decoder, class WFmt>
void decoded_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
                  const_qmatrix_view<typename WFmt::activation> xq, const matmul_output& out, const Decoder& decoder) {
    decoded_rows(w, r0, r1, xq, out, decoder,
                 [&](std::size_t r) { return decoded_dot_blocks(decoder, w.row(r), xq.row(0), w.blocks_per_row()); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
