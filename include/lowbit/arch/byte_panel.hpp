#pragma once
/// \file arch/byte_panel.hpp
/// GEMM of the formats decoded_rows serves (the codebook, trellis and ternary formats, iq4_xs) from a batch of
/// byte_panel_batch rows, on the backends with an int8 dot of 4 products per lane (VNNI's vpdpbusd, NEON's sdot
/// and smmla): each 16-row panel is decoded once into a layout of the K-packed micro-kernel (arch/kpacked.hpp) with
/// whole-byte codes and multiplied there, one int8 dot per 4 weights of V::rows rows and one activation row, with
/// no horizontal sum per block as decoded_rows' term() needs. The kernel takes the Decoder's float steps (one
/// rounded term per block, added in block order, times factor), so every output is dot_blocks', bit for bit.
///
/// Each ISA's decode_byte_panel writes the layout (arch/x86/byte_panel.hpp, arch/neon/byte_panel.hpp) from its
/// Decoders (core/matmul.hpp), which serve here with
///   sub_block                       weights per integer multiplier: 16, 32, or qk_k for none
///   multipliers(block, int* m)      the qk_k / sub_block multipliers (when sub_block < qk_k), |m| <= 32
///   values(const decoded&, k)       weights 32k .. 32k + 31 as signed bytes
/// Exact in int32: |code * a| <= 255 * 128, times |m| <= 32, over 256 weights: < 2^28.
#include "../core/matmul.hpp"
#include "../core/scratch.hpp"
#include "kpacked.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// One decoded super-block of a 16-row panel, in kpacked's fields: d of each row as a float, then the int8
/// multipliers of each sub-block (16 per sub-block; none for formats without), then the codes v + ZeroPoint (128
/// where the int8 dot takes them unsigned, vpdpbusd; 0 where it takes them signed, sdot), 4 weights of the 16 rows
/// per 64 bytes.
template <class Decoder, int ZeroPoint>
struct byte_panel_layout {
    static constexpr std::size_t rows = 16, sub_block = Decoder::sub_block, sub_blocks = qk_k / sub_block;
    static constexpr bool has_min = false, min_in_scale_byte = false, signed_scales = true;
    static constexpr int zero_point = ZeroPoint, low_plane_bits = 8, high_plane_bits = 0;
    struct options {
        static constexpr bool scaled = sub_block < qk_k, float_d = true;
        static constexpr int block_lanes = 1;
        static constexpr float factor = Decoder::factor;
    };
    static constexpr std::size_t d = 0, sc = 4 * rows, low_plane = sc + (options::scaled ? rows * sub_blocks : 0);
    static constexpr std::size_t bytes = low_plane + rows * qk_k;
};

/// Rows first .. first + R - 1 of the panel at p0 (those below n), block b: decoded into row[] by the Decoder, their d
/// and multipliers written into the panel's block pb (zero for the rows past n). Each ISA's decode_byte_panel then
/// lays the rows' values out.
template <class L, std::size_t R, class Decoder, class WFmt>
void decode_panel_rows(const Decoder& decoder, const_qmatrix_view<WFmt> w, std::size_t p0, std::size_t n, std::size_t b,
                       std::size_t first, typename Decoder::decoded (&row)[R], unsigned char* pb) {
    for (std::size_t j = 0; j < R; ++j) {
        const std::size_t r = first + j;
        float d = 0.0f;
        int m[L::sub_blocks] = {};
        if (r < n) {
            const auto& block = w.row(p0 + r)[b];
            decoder.decode(block, row[j]);
            d = row[j].d;
            if constexpr (L::options::scaled) Decoder::multipliers(block, m);
        }
        std::memcpy(pb + L::d + 4 * r, &d, 4);
        if constexpr (L::options::scaled)
            for (std::size_t s = 0; s < L::sub_blocks; ++s) pb[L::sc + L::rows * s + r] = static_cast<unsigned char>(m[s]);
    }
}

/// The batch from which byte_panel_rows decodes panels. Measured on a Zen 5 VM (AVX-512 VNNI, 4096 x 4096): at
/// 4 rows panels run 1.1-1.7x decoded_rows' tiles, at 2 from 0.8x (tq1_0) to 1.3x (iq2_xxs).
constexpr std::size_t byte_panel_batch = 4;

/// gemm_rows of a decoded_rows format through byte panels of layout L, multiplied with vector operations V:
/// decode(p0, n, bytes) writes rows p0 .. p0 + n - 1 (n <= 16) of the weights as one panel; with fewer than
/// byte_panel_batch activation rows, fewer() instead (the backend's decoded_rows path).
template <class V, class L, class Decode, class Fewer>
void byte_panel_rows(std::size_t nblocks, std::size_t r0, std::size_t r1, const const_qmatrix_view<q8_K>& xq,
                     const matmul_output& out, Decode&& decode, Fewer&& fewer) {
    if (xq.rows() < byte_panel_batch) return fewer();
    detail::scratch<unsigned char> panel(nblocks * L::bytes);
    for (std::size_t p0 = r0; p0 < r1; p0 += L::rows) {
        const std::size_t n = std::min(L::rows, r1 - p0);
        decode(p0, n, panel.data());
        kpacked_impl::panel_rows<V, L>(panel.data(), nblocks, p0, p0, p0 + n, xq, out);
    }
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
