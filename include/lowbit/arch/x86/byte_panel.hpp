#pragma once
/// \file arch/x86/byte_panel.hpp
/// The VNNI backends' byte panels (arch/byte_panel.hpp): codes v + 128, vpdpbusd's unsigned operand (the
/// kernel's zero-point term takes the 128 back through the activations' bsums), written from the 256-bit Decoders
/// of each family, 8 rows at a time by an 8 x 8 transpose of 4-weight groups. decoder_for names each format's
/// Decoder (specialized beside it).
#include "../byte_panel.hpp"
#include "common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// The x86 Decoder of weight format Fmt with the int8 dot Dot.
template <class Fmt, class Dot, class = void>
struct decoder_for {};
template <class Fmt, class Dot>
using decoder_t = typename decoder_for<Fmt, Dot>::type;

/// Rows p0 .. p0 + n - 1 of w (n <= 16) decoded into `panel` (byte_panel_layout<Decoder, 128>, one after another per
/// block); the rows past n get zero weights, multipliers and d.
template <class Decoder, class WFmt>
void decode_byte_panel(const Decoder& decoder, const_qmatrix_view<WFmt> w, std::size_t p0, std::size_t n, unsigned char* panel) {
    using L = byte_panel_layout<Decoder, 128>;
    const __m256i offset = _mm256_set1_epi8(-128);
    for (std::size_t b = 0; b < w.blocks_per_row(); ++b) {
        unsigned char* pb = panel + b * L::bytes;
        for (std::size_t half = 0; half < 2; ++half) {
            typename Decoder::decoded row[8];
            decode_panel_rows<L>(decoder, w, p0, n, b, 8 * half, row, pb);
            for (int k = 0; k < 8; ++k) {
                __m256i u[8];
                for (std::size_t j = 0; j < 8; ++j)
                    u[j] = 8 * half + j < n ? _mm256_xor_si256(Decoder::values(row[j], k), offset) : offset;
                store_row_groups(u, k, half, pb + L::low_plane);
            }
        }
    }
}

/// gemm_rows of a Decoder's format on a VNNI backend whose kpacked vector operations are V (arch::byte_panel_rows).
template <class V, class Decoder, class WFmt, class Fewer>
void byte_panel_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const const_qmatrix_view<q8_K>& xq,
                     const matmul_output& out, const Decoder& decoder, Fewer&& fewer) {
    arch::byte_panel_rows<V, byte_panel_layout<Decoder, 128>>(
        w.blocks_per_row(), r0, r1, xq, out,
        [&](std::size_t p0, std::size_t n, unsigned char* panel) { decode_byte_panel(decoder, w, p0, n, panel); }, fewer);
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
