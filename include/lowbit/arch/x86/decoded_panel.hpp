#pragma once
/// \file arch/x86/decoded_panel.hpp
/// GEMM of the formats decoded_rows serves (the codebook, trellis and ternary formats, iq4_xs) on the VNNI backends,
/// from a batch of decoded_panel_batch rows: each 16-row panel is decoded once into a layout of the K-packed
/// micro-kernel (arch/kpacked.hpp) with whole-byte codes u = v + 128 (vpdpbusd's unsigned operand; the kernel's
/// zero-point term takes the 128 back through the activations' bsums) and multiplied there: one vpdpbusd per 4
/// weights of 16 (zmm) or 8 (ymm) rows and one activation row, and no horizontal sum per block as decoded_rows'
/// term() needs. The kernel takes the Decoder's float steps (one rounded term per block, added in block order, times
/// factor), so every output is dot_blocks', bit for bit.
///
/// A Decoder (core/matmul.hpp's, x86's of each family) serves here with
///   sub_block                       weights per integer multiplier: 16, 32, or qk_k for none
///   multipliers(block, int* m)      the qk_k / sub_block multipliers (when sub_block < qk_k), |m| <= 127
///   values(const decoded&, k)       weights 32k .. 32k + 31 as signed bytes
/// and decoder_for<format, Dot> names it. Exact in int32: |u . a| <= 255 * 128 per weight, times |m| <= 32, over
/// 256 weights: < 2^28.
#include "../kpacked.hpp"
#include "common.hpp"

#include <algorithm>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// The x86 Decoder of weight format Fmt with the int8 dot Dot (specialized beside each decoder).
template <class Fmt, class Dot, class = void>
struct decoder_for {};
template <class Fmt, class Dot>
using decoder_t = typename decoder_for<Fmt, Dot>::type;

/// One decoded super-block of a 16-row panel, in kpacked's fields: d of each row as a float, then the int8
/// multipliers of each sub-block (16 per sub-block; none for formats without), then the codes u = v + 128, 4
/// weights of the 16 rows per 64 bytes.
template <class Decoder>
struct decoded_layout {
    static constexpr std::size_t rows = 16, sub_block = Decoder::sub_block, sub_blocks = qk_k / sub_block;
    static constexpr bool has_min = false, min_in_scale_byte = false, signed_scales = true;
    static constexpr int zero_point = 128, low_plane_bits = 8, high_plane_bits = 0;
    struct options {
        static constexpr bool scaled = sub_block < qk_k, float_d = true;
        static constexpr int block_lanes = 1;
        static constexpr float factor = Decoder::factor;
    };
    static constexpr std::size_t d = 0, sc = 4 * rows, low_plane = sc + (options::scaled ? rows * sub_blocks : 0);
    static constexpr std::size_t bytes = low_plane + rows * qk_k;
};

/// The batch from which decoded_panel_rows decodes panels (below it, decoded_rows' tiles cost less than a panel's
/// decoding: measured on Zen 4).
constexpr std::size_t decoded_panel_batch = 4;

/// v[j] = dword k of v[k] for j, k < 8: an 8 x 8 transpose of 32-bit elements.
LOWBIT_INLINE void transpose_dwords(__m256i (&v)[8]) noexcept {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
        u[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
        v[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
    }
}

/// Rows p0 .. p0 + n - 1 of w (n <= 16) decoded into `panel` (decoded_layout, one after another per block); the
/// rows past n get zero weights, multipliers and d.
template <class Decoder, class WFmt>
void decode_panel(const Decoder& decoder, const_qmatrix_view<WFmt> w, std::size_t p0, std::size_t n, unsigned char* panel) {
    using L = decoded_layout<Decoder>;
    const __m256i offset = _mm256_set1_epi8(-128);
    for (std::size_t b = 0; b < w.blocks_per_row(); ++b) {
        unsigned char* pb = panel + b * L::bytes;
        for (std::size_t half = 0; half < 2; ++half) {
            typename Decoder::decoded row[8];
            for (std::size_t j = 0; j < 8; ++j) {
                const std::size_t r = 8 * half + j;
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
            for (int k = 0; k < 8; ++k) {
                __m256i u[8];
                for (std::size_t j = 0; j < 8; ++j)
                    u[j] = 8 * half + j < n ? _mm256_xor_si256(Decoder::values(row[j], k), offset) : offset;
                transpose_dwords(u);
                for (int g = 0; g < 8; ++g)
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pb + L::low_plane + 64 * (8 * k + g) + 32 * half), u[g]);
            }
        }
    }
}

/// gemm_rows of a Decoder's format on a VNNI backend whose kpacked vector operations are V: with
/// decoded_panel_batch activation rows or more, each 16-row panel of [r0, r1) decoded once (above) and multiplied by
/// kpacked_impl::panel_rows; with fewer, `fewer()` (the backend's decoded_rows path).
template <class V, class Decoder, class WFmt, class Fewer>
void decoded_panel_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const const_qmatrix_view<q8_K>& xq,
                        const matmul_output& out, const Decoder& decoder, Fewer&& fewer) {
    if (xq.rows() < decoded_panel_batch) return fewer();
    using L = decoded_layout<Decoder>;
    detail::scratch<unsigned char> panel(w.blocks_per_row() * L::bytes);
    for (std::size_t p0 = r0; p0 < r1; p0 += L::rows) {
        const std::size_t n = std::min(L::rows, r1 - p0);
        decode_panel(decoder, w, p0, n, panel.data());
        kpacked_impl::panel_rows<V, L>(panel.data(), w.blocks_per_row(), p0, p0, p0 + n, xq, out);
    }
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
