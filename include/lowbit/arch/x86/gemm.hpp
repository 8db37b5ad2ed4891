#pragma once
/// \file arch/x86/gemm.hpp
/// 256-bit matrix-product micro-kernels for the legacy weight formats q8_0, q4_0, q4_1, q5_0 and q5_1, on plain
/// rows (plain_rows; also iq4_nl and mxfp4, whose blocks are table values under one scale) and on packed panels
/// (packed_rows, packed.hpp), over an int8 dot (int8_dot.hpp), for the AVX2 and AVX-VNNI backends; the hooks are
/// described in core/matmul.hpp. The K formats have a GEMM kernel that decodes each weight block once for 4
/// activation rows and otherwise computes exactly what dot_blocks does with the same decoder (kquant_rows).
///
/// Every micro-kernel of these formats (plain and packed, and arch/avx512/gemm.hpp's) computes
/// each output by the same per-pair sequence, blocks in order, acc starting at 0:
///   acc = fma(float(isum_b), d_w * d_a, acc)          isum_b: the block's exact integer sum of code * a
///   acc = fma(m_w, s_a, acc)                          only for the formats with a min (q4_1, q5_1 with q8_1)
/// so an output does not depend on the tile it falls in, the batch size, the thread split or the backend's
/// tile shape (GEMV row == GEMM row, bit for bit). It differs from the scalar reference only by the FMA roundings.
///
/// Here a tile is R weight rows x C activation rows with R * C = 8 pairs. Per 32-value block, each weight block
/// is decoded once and used for every activation row, each activation block once per tile; the 8 pair
/// products (8 int32 lanes each) are reduced to one vector of 8 exact integer block sums, so the float work is
/// one convert and one or two FMAs per 8 pairs. Formats with a zero point (code - Z) multiply unsigned codes
/// and subtract Z * sum(a), which the panel precomputes.
#include "../../core/matmul.hpp"
#include "../kpacked.hpp"
#include "../../core/scratch.hpp"
#include "common.hpp"
#include "int8_dot.hpp"
#include "kquant.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// Per weight format: how to decode its blocks, and the pair product. dot<Dot>(w, a) returns 8 int32 lanes whose
/// sum is sum_j code_j * a_j; the zero point Z is applied later by adding the panel's zero_point_sum (-Z * sum_j a_j).
template <class WBlock, class = void>
struct ops {
    static constexpr bool available = false;
};

/// q4_0, q4_1, q5_0, q5_1: unsigned codes (the dot kernels' x86_impl::unpack_codes) times signed
/// activations with the int8 dot (vpmaddubsw cannot saturate: |pair| <= 2 * 31 * 128).
template <class WBlock>
struct ops<WBlock, std::enable_if_t<ref::nibble_format<WBlock>::value>> {
    using traits = ref::nibble_format<WBlock>;
    static constexpr bool available = true;
    static constexpr bool has_min = traits::has_min;
    static constexpr int offset = has_min ? 0 : 1 << (traits::bits - 1);
    static constexpr int tile_rows = 4, tile_cols = 2;
    using weights = __m256i;  // the 32 codes in element order
    using acts = __m256i;     // the 32 int8 activations
    static LOWBIT_INLINE weights load_weights(const WBlock& b) noexcept { return x86_impl::unpack_codes(b); }
    static LOWBIT_INLINE acts load_acts(const typename WBlock::format::activation::block& a) noexcept {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
    }
    template <class Dot>
    static LOWBIT_INLINE __m256i dot(weights w, acts a) noexcept {
        return Dot::dot(_mm256_setzero_si256(), w, a);
    }
};

template <>
struct ops<q8_0::block> {
    static constexpr bool available = true;
    static constexpr bool has_min = false;
    static constexpr int offset = 0;
    static constexpr int tile_rows = 2, tile_cols = 4;
    // Signed times signed has no exact vpmaddubsw form for -128; int16 products are exact for every code (and
    // need no int8 dot).
    struct int16x32 {
        __m256i lo, hi;
    };
    using weights = int16x32;
    using acts = int16x32;
    static LOWBIT_INLINE int16x32 widen(const std::int8_t* q) noexcept {
        return {_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q))),
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)))};
    }
    static LOWBIT_INLINE weights load_weights(const q8_0::block& b) noexcept { return widen(b.qs); }
    static LOWBIT_INLINE acts load_acts(const q8_0::block& a) noexcept { return widen(a.qs); }
    template <class Dot>
    static LOWBIT_INLINE __m256i dot(const int16x32& w, const int16x32& a) noexcept {
        return _mm256_add_epi32(_mm256_madd_epi16(w.lo, a.lo), _mm256_madd_epi16(w.hi, a.hi));
    }
};

/// iq4_nl, mxfp4: the block's table values (signed bytes, one vpshufb) times signed activations, as signed_dot:
/// |a| times the values with a's signs (|a| taken once per activation block, for every row of the tile).
template <class WBlock>
struct ops<WBlock, std::enable_if_t<ref::nonlinear_format<WBlock>::value>> {
    static constexpr bool available = true;
    static constexpr bool has_min = false;
    static constexpr int offset = 0;
    static constexpr int tile_rows = 4, tile_cols = 2;
    using weights = __m256i;  // the 32 table values in element order
    struct acts {
        __m256i magnitude, sign;  // |a| (unsigned bytes) and a
    };
    static LOWBIT_INLINE weights load_weights(const WBlock& b) noexcept {
        return table_values(b, value_table<typename WBlock::format>());
    }
    static LOWBIT_INLINE acts load_acts(const q8_0::block& a) noexcept {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
        return {_mm256_abs_epi8(q), q};
    }
    template <class Dot>
    static LOWBIT_INLINE __m256i dot(weights w, const acts& a) noexcept {
        return Dot::dot(_mm256_setzero_si256(), a.magnitude, _mm256_sign_epi8(w, a.sign));
    }
};

/// Lane k = p[k % C]: C consecutive values repeated (C = 1, 2, 4 or 8).
template <int C>
LOWBIT_INLINE __m256 repeat(const float* p) noexcept {
    if constexpr (C == 1) return _mm256_broadcast_ss(p);
    else if constexpr (C == 2) return _mm256_castpd_ps(_mm256_broadcast_sd(reinterpret_cast<const double*>(p)));
    else if constexpr (C == 4) return _mm256_broadcast_ps(reinterpret_cast<const __m128*>(p));
    else return _mm256_loadu_ps(p);
}
template <int C>
LOWBIT_INLINE __m256i repeat(const std::int32_t* p) noexcept {
    return _mm256_castps_si256(repeat<C>(reinterpret_cast<const float*>(p)));
}

/// The fp16 field Field of rows[k / C][b] in lane k, as floats (exact).
template <auto Field, int C, class WBlock>
LOWBIT_INLINE __m256 lane_halves(const WBlock* const* rows, std::size_t b) noexcept {
    auto h = [&](int k) { return static_cast<short>((rows[k / C][b].*Field).bits()); };
    return _mm256_cvtph_ps(_mm_setr_epi16(h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7)));
}

/// The scale of rows[k / C][b] in lane k: its fp16 d, or Fmt::scale (mxfp4's power of two), as weight_scales8.
template <int C, class WBlock>
LOWBIT_INLINE __m256 lane_scales(const WBlock* const* rows, std::size_t b) noexcept {
    if constexpr (ref::half_scale<WBlock>::value) {
        return lane_halves<&WBlock::d, C>(rows, b);
    } else {
        auto d = [&](int k) { return WBlock::format::scale(rows[k / C][b]); };
        return _mm256_setr_ps(d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7));
    }
}

}  // namespace x86_impl

/// Activation data shared by every row range and every micro-kernel: the quantized rows, and per block b and
/// row c (at b * stride + c, zero past the batch, stride a multiple of 16) the float scale d_a, -Z times the sum
/// of the codes (the correction for a weight zero point Z: packed_layout<weight format>::zero_point) and, for
/// q8_1, the stored sum s_a as a float.
template <class AFmt>
struct matmul_panel {
    const_qmatrix_view<AFmt> xq;
    std::size_t stride;
    detail::scratch<float> d, s;
    detail::scratch<std::int32_t> zero_point_sum;
};

namespace x86_impl {

/// Products of rows rt..rt+R-1 (clamped to last; the extra lanes are computed and dropped) with every
/// activation row, C at a time; acc holds 8 floats per group of C activation rows.
template <class Dot, class WBlock, int R, int C, class AFmt>
void row_tile(const_qmatrix_view<typename WBlock::format> w, std::size_t rt, std::size_t last,
              const matmul_panel<AFmt>& p, float* acc, const matmul_output& out) {
    static_assert(R * C == 8, "a tile is 8 pairs: one reduce8 per block");
    constexpr std::size_t prefetch_bytes = 512;  // measured best of 144..1152 (q4_0, q8_0 GEMV); 2-4 KiB is slower
    using O = ops<WBlock>;
    // C == 1 tiles serve a batch of one (GEMV): a compile-time single group keeps acc in a register.
    const std::size_t nblocks = w.blocks_per_row(), batch = p.xq.rows(), groups = C == 1 ? 1 : (batch + C - 1) / C;
    const WBlock* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = w.row(std::min(rt + r, last));
    __m256 acc1 = _mm256_setzero_ps();  // the GEMV accumulator (C == 1): a local, so it stays in a register
    std::fill(acc, acc + 8 * groups, 0.0f);

    // unroll, not loops: inside the kernel tables GCC left the loops over r and c rolled, with the decoded weights
    // and the 8 products in memory (twice the instructions of a q4_0 GEMV, 1.6x those of attention's key scores).
    for (std::size_t b = 0; b < nblocks; ++b) {
        typename O::weights wt[R];
        unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
            // Each row is its own stream; the hardware prefetchers alone leave about 20% on the table.
            _mm_prefetch(reinterpret_cast<const char*>(rows[r] + b) + prefetch_bytes, _MM_HINT_T0);
            wt[r] = O::load_weights(rows[r][b]);
        });
        const __m256 dw = lane_scales<C>(rows, b);
        const std::size_t at = b * p.stride;
        for (std::size_t g = 0; g < groups; ++g) {
            const std::size_t c0 = g * C;
            __m256i v[8];
            unroll<C>([&](auto c) LOWBIT_INLINE_LAMBDA {
                const typename O::acts a = O::load_acts(p.xq.row(std::min(c0 + c, batch - 1))[b]);
                unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA { v[r * C + c] = O::template dot<Dot>(wt[r], a); });
            });
            __m256i isum = x86_impl::reduce8(v);
            if constexpr (O::offset != 0) {
                static_assert(O::offset == packed_layout<typename WBlock::format>::zero_point, "zero_point_sum's Z");
                isum = _mm256_add_epi32(isum, repeat<C>(p.zero_point_sum.data() + at + c0));
            }
            const __m256 scale = _mm256_mul_ps(dw, repeat<C>(p.d.data() + at + c0));
            __m256 a = C == 1 ? acc1 : _mm256_loadu_ps(acc + 8 * g);
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, a);
            if constexpr (O::has_min) a = _mm256_fmadd_ps(lane_halves<&WBlock::m, C>(rows, b), repeat<C>(p.s.data() + at + c0), a);
            if constexpr (C == 1) acc1 = a;
            else _mm256_storeu_ps(acc + 8 * g, a);
        }
    }
    if constexpr (C == 1) _mm256_storeu_ps(acc, acc1);
    for (std::size_t g = 0; g < groups; ++g)
        for (int k = 0; k < 8; ++k) {
            const std::size_t r = rt + k / C, c = g * C + k % C;
            if (r <= last && c < batch) out.put(c, r, acc[8 * g + k]);
        }
}

/// Prefetches the cache lines N bytes long at `ahead` bytes past p. A packed GEMV reads one sequential stream, yet
/// the hardware prefetchers alone keep too little of it in flight: DRAM GEMV of q4_0 went from about 55% to about
/// 85-90% of the read bandwidth with this (distances of 6, 8, 12, 16 and 32 KiB measured; 12 KiB was as good as any).
template <std::size_t N, std::size_t ahead = 12288>
LOWBIT_INLINE void prefetch_ahead(const unsigned char* p) noexcept {
    for (std::size_t i = 0; i < N; i += 64) _mm_prefetch(reinterpret_cast<const char*>(p + ahead + i), _MM_HINT_T0);
}

/// Group K (codes 4K .. 4K+3) of the 8 rows of half H of a packed block (packed.hpp), as unsigned bytes.
template <class WFmt, int H, int K>
LOWBIT_INLINE __m256i packed_group(const unsigned char* pb) noexcept {
    using L = packed_layout<WFmt>;
    const auto load = [](const unsigned char* q) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)); };
    if constexpr (L::bits == 8) {
        return load(pb + L::qs + 64 * K + 32 * H);
    } else {
        const __m256i chunk = load(pb + L::qs + 64 * (K % 4) + 32 * H);
        __m256i codes = _mm256_and_si256(K < 4 ? chunk : _mm256_srli_epi16(chunk, 4), _mm256_set1_epi8(0x0F));
        if constexpr (L::bits == 5) {  // packed qh bit 8i + K -> bit 4 of byte i
            const __m256i qh = load(pb + L::qh + 32 * H);
            const __m256i high = K <= 4 ? _mm256_slli_epi32(qh, 4 - K) : _mm256_srli_epi32(qh, K - 4);
            codes = _mm256_or_si256(codes, _mm256_and_si256(high, _mm256_set1_epi8(0x10)));
        }
        return codes;
    }
}

/// Group K of an activation block, its 4 int8 codes in every dword.
template <int K, class ABlock>
LOWBIT_INLINE __m256i act_group(const ABlock& a) noexcept {
    std::int32_t v;
    std::memcpy(&v, a.qs + 4 * K, 4);
    return _mm256_set1_epi32(v);
}

/// The largest |lane| of Dot's partial sums after `groups` groups (4 codes below 2^bits per row) times activations.
template <class Dot>
constexpr std::int64_t partial_bound(int groups, int bits) {
    return std::int64_t{groups} * Dot::products_per_lane * ((1 << bits) - 1) * 128;
}

/// Exact sums code * a over one block for the 8 rows of half H and C activation blocks a[c], in sums[c]
/// (one row per lane; the codes still carry the zero point). The groups are summed in Dot's partial sums as
/// long as they cannot overflow: with vpmaddubsw's int16 pairs, 8 groups of 4-bit codes (|sum| <= 8 * 2 * 15 *
/// 128), 4 of 5-bit codes, and 8-bit codes split into two 4-bit planes, sum = low + 16 * high; vpdpbusd's int32
/// lanes take all 8 groups of any codes.
template <class Dot, class WFmt, int H, int C, class ABlock>
LOWBIT_INLINE void packed_block_sums(const unsigned char* pb, const ABlock* const (&a)[C], __m256i (&sums)[C]) noexcept {
    constexpr int bits = packed_layout<WFmt>::bits;
    constexpr int plane_bits = partial_bound<Dot>(1, bits) <= Dot::partial_max ? bits : 4;
    constexpr int planes = bits / plane_bits;  // 2: the low and the high nibbles of 8-bit codes
    constexpr int run = partial_bound<Dot>(8, plane_bits) <= Dot::partial_max ? 8 : 4;  // groups per partial sum
    static_assert(partial_bound<Dot>(run, plane_bits) <= Dot::partial_max, "partial sums must not overflow");
    constexpr int runs = 8 / run;
    __m256i part[C][planes * runs];  // [c][plane * runs + group / run]
    for (auto& column : part)
        for (auto& v : column) v = _mm256_setzero_si256();
    x86_impl::unroll<8>([&](auto k) {
        constexpr int K = decltype(k)::value;
        const __m256i g = packed_group<WFmt, H, K>(pb);
        for (int c = 0; c < C; ++c) {
            const __m256i x = act_group<K>(*a[c]);
            if constexpr (planes == 1) {
                part[c][K / run] = Dot::add_products(part[c][K / run], g, x);
            } else {
                const __m256i nibble = _mm256_set1_epi8(0x0F);
                part[c][K / run] = Dot::add_products(part[c][K / run], _mm256_and_si256(g, nibble), x);
                part[c][runs + K / run] = Dot::add_products(
                    part[c][runs + K / run], _mm256_and_si256(_mm256_srli_epi16(g, 4), nibble), x);
            }
        }
    });
    static_assert(planes == 1 || Dot::partial_max <= 32767, "widen_scaled reads 16-bit partial sums");
    const __m256i high_weight = Dot::weights(_mm256_set1_epi16(16));
    for (int c = 0; c < C; ++c) {
        sums[c] = Dot::widen(part[c][0]);
        for (int i = 1; i < runs; ++i) sums[c] = _mm256_add_epi32(sums[c], Dot::widen(part[c][i]));
        if constexpr (planes == 2)
            for (int i = 0; i < runs; ++i)
                sums[c] = _mm256_add_epi32(sums[c], Dot::widen_scaled(part[c][runs + i], high_weight));
    }
}

/// Products of packed panel `pi` (rows 16 pi ..) with activation rows c0 .. c0+C-1 (all < batch), for the H halves
/// from H0 (8 rows each); outputs outside rows [r0, r1) are dropped. Stream: prefetch (GEMV, where the weights
/// are read once; GEMM re-reads them from cache).
template <class Dot, class WFmt, int H0, int H, int C, bool Stream, class AFmt>
void packed_tile(const const_packed_view<WFmt>& w, std::size_t pi, std::size_t c0, std::size_t r0, std::size_t r1,
                 const matmul_panel<AFmt>& p, const matmul_output& out) {
    using L = packed_layout<WFmt>;
    const std::size_t nblocks = w.blocks_per_row();
    __m256 acc[H][C];
    for (auto& row : acc)
        for (auto& v : row) v = _mm256_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
        const unsigned char* pb = w.block(pi, b);
        if constexpr (Stream) x86_impl::prefetch_ahead<L::bytes>(pb);
        const typename AFmt::block* a[C];
        for (int c = 0; c < C; ++c) a[c] = p.xq.row(c0 + c) + b;
        const std::size_t at = b * p.stride + c0;
        x86_impl::unroll<H>([&](auto h) {
            constexpr int half = H0 + decltype(h)::value;
            __m256i isum[C];
            packed_block_sums<Dot, WFmt, half, C>(pb, a, isum);
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pb + L::d + 16 * half)));
            for (int c = 0; c < C; ++c) {
                __m256i s = isum[c];
                if constexpr (L::zero_point != 0) s = _mm256_add_epi32(s, _mm256_set1_epi32(p.zero_point_sum[at + c]));
                const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(p.d[at + c]));
                __m256& v = acc[decltype(h)::value][c];
                v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale, v);
                if constexpr (L::has_min)
                    v = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pb + L::m + 16 * half))),
                                        _mm256_set1_ps(p.s[at + c]), v);
            }
        });
    }
    for (int h = 0; h < H; ++h)
        for (int c = 0; c < C; ++c) {
            alignas(32) float lanes[8];
            _mm256_store_ps(lanes, acc[h][c]);
            for (int k = 0; k < 8; ++k) {
                const std::size_t r = pi * L::rows + 8 * (H0 + h) + k;
                if (r >= r0 && r < r1) out.put(c0 + c, r, lanes[k]);
            }
        }
}

/// gemm_rows on plain rows with the int8 dot Dot: GEMV takes 8 weight rows per tile, GEMM ops' tile shape.
template <class Dot, class WFmt>
void plain_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
                const matmul_panel<typename WFmt::activation>& p, const matmul_output& out) {
    using WBlock = typename WFmt::block;
    using O = ops<WBlock>;
    if (r0 >= r1) return;
    const std::size_t batch = p.xq.rows();
    if (batch == 1) {
        float acc[8];
        for (std::size_t rt = r0; rt < r1; rt += 8) row_tile<Dot, WBlock, 8, 1>(w, rt, r1 - 1, p, acc, out);
        return;
    }
    detail::scratch<float> acc(8 * ((batch + O::tile_cols - 1) / O::tile_cols));
    for (std::size_t rt = r0; rt < r1; rt += O::tile_rows)
        row_tile<Dot, WBlock, O::tile_rows, O::tile_cols>(w, rt, r1 - 1, p, acc.data(), out);
}

/// gemm_rows on packed weights with the int8 dot Dot: GEMV takes a whole panel (16 rows) per pass, so the weights
/// are read once, in order; GEMM takes 8 rows x 4 (then 1) activation rows per tile.
template <class Dot, class WFmt>
void packed_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
                 const matmul_panel<typename WFmt::activation>& p, const matmul_output& out) {
    constexpr std::size_t rows = packed_layout<WFmt>::rows;
    const std::size_t batch = p.xq.rows();
    for (std::size_t pi = r0 / rows; pi * rows < r1; ++pi) {
        if (batch == 1) {
            packed_tile<Dot, WFmt, 0, 2, 1, true>(w, pi, 0, r0, r1, p, out);
            continue;
        }
        unroll<2>([&](auto h) {
            constexpr int half = decltype(h)::value;
            std::size_t c0 = 0;
            for (; c0 + 4 <= batch; c0 += 4) packed_tile<Dot, WFmt, half, 1, 4, false>(w, pi, c0, r0, r1, p, out);
            for (; c0 < batch; ++c0) packed_tile<Dot, WFmt, half, 1, 1, false>(w, pi, c0, r0, r1, p, out);
        });
    }
}

}  // namespace x86_impl

/// K and codebook formats (q8_K activations): the activations themselves (a type of its own, which selects their
/// gemm_rows).
struct q8_K_panel {
    const_qmatrix_view<q8_K> xq;
};

namespace x86_impl {

/// Row r of W times activation rows c0 .. c0+C-1. Each output is what dot_blocks (kdot_blocks<Decoder>) returns,
/// bit for bit (the same integer sums, the same kdot_step), but each weight block is decoded once for the C rows.
template <class WBlock, int C, class Decoder>
void kquant_tile(const WBlock* row, std::size_t nblocks, std::size_t r, std::size_t c0, const q8_K_panel& p,
                 const matmul_output& out) {
    using namespace x86_impl;
    const q8_K::block* a[C];
    fbatch acc[C];
    for (int c = 0; c < C; ++c) {
        a[c] = p.xq.row(c0 + c);
        acc[c] = fbatch(0.0f);
    }
    for (std::size_t b = 0; b < nblocks; b += 8) {
        const std::size_t n = std::min<std::size_t>(8, nblocks - b);
        kblock_sums s[C][8];
        for (std::size_t k = 0; k < 8; ++k) {
            if (k < n) {
                const auto d = Decoder::decode(row[b + k]);
                for (int c = 0; c < C; ++c) s[c][k] = Decoder::template dot<WBlock>(d, a[c][b + k]);
            } else {
                for (int c = 0; c < C; ++c) s[c][k] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
            }
        }
        for (int c = 0; c < C; ++c) kdot_step(acc[c], row + b, a[c] + b, n, s[c]);
    }
    for (int c = 0; c < C; ++c) out.put(c0 + c, r, xsimd::hadd(acc[c]));
}

/// Row by row (each row read once, then from cache for the later activation rows), 4 activation rows per tile.
template <class Decoder, class WFmt>
void kquant_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
                 const matmul_output& out) {
    using WBlock = typename WFmt::block;
    const std::size_t batch = p.xq.rows(), nblocks = w.blocks_per_row();
    for (std::size_t r = r0; r < r1; ++r) {
        std::size_t c0 = 0;
        for (; c0 + 4 <= batch; c0 += 4) kquant_tile<WBlock, 4, Decoder>(w.row(r), nblocks, r, c0, p, out);
        for (; c0 < batch; ++c0) kquant_tile<WBlock, 1, Decoder>(w.row(r), nblocks, r, c0, p, out);
    }
}

/// kdot_step's 8 block lanes (one vector each) added in xsimd::hadd's order, ((l0 + l4) + (l1 + l5)) + ((l2 + l6) +
/// (l3 + l7)): the K-packed kernels' sum_lanes on ymm and zmm.
template <class V>
LOWBIT_INLINE typename V::vf sum_hadd_order(const typename V::vf (&l)[8]) noexcept {
    return V::add_f(V::add_f(V::add_f(l[0], l[4]), V::add_f(l[1], l[5])), V::add_f(V::add_f(l[2], l[6]), V::add_f(l[3], l[7])));
}

/// kpacked_impl::rows' vector operations (arch/kpacked.hpp) on ymm: 8 rows per vector, the int8 dot Dot.
template <class Dot>
struct ymm_ops {
    using vi = __m256i;
    using vf = __m256;
    static constexpr int rows = 8;
    static constexpr int columns = 4;  // activation rows per GEMM tile: 8 spill the 16 ymm registers (-25%)
    static constexpr int block_lanes = 8;  // kdot_step's
    static LOWBIT_INLINE vi load(const unsigned char* p) noexcept { return load32(p); }
    template <int From, int To, int Width>
    static LOWBIT_INLINE vi move_bits(vi v) noexcept { return x86_impl::move_bits<From, To, Width>(v); }
    static LOWBIT_INLINE vi bit_or(vi a, vi b) noexcept { return _mm256_or_si256(a, b); }
    static LOWBIT_INLINE vi bit_and(vi a, vi b) noexcept { return _mm256_and_si256(a, b); }
    static LOWBIT_INLINE vi set1(std::int32_t v) noexcept { return _mm256_set1_epi32(v); }
    static LOWBIT_INLINE vi add(vi a, vi b) noexcept { return _mm256_add_epi32(a, b); }
    static LOWBIT_INLINE vi sub(vi a, vi b) noexcept { return _mm256_sub_epi32(a, b); }
    static LOWBIT_INLINE vi mullo(vi a, vi b) noexcept { return _mm256_mullo_epi32(a, b); }
    static LOWBIT_INLINE vi dot(vi acc, vi u, const void* s) noexcept { return Dot::dot(acc, u, broadcast32(s)); }
    /// acc + the two int16 x int16 products of each lane (vpmaddwd: exact for the bsum terms' operands).
    static LOWBIT_INLINE vi dot16(vi acc, vi w, const void* s) noexcept {
        return _mm256_add_epi32(acc, _mm256_madd_epi16(w, broadcast32(s)));
    }
    static LOWBIT_INLINE vi broadcast32(const void* p) noexcept {
        std::int32_t v;
        std::memcpy(&v, p, 4);
        return _mm256_set1_epi32(v);
    }
    /// Lane r: bytes lo[r] and hi[r] as int16 (sign- or zero-extended), lo in the low half.
    template <bool Signed>
    static LOWBIT_INLINE vi pair16(const unsigned char* lo, const unsigned char* hi) noexcept {
        const __m128i pairs = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(lo)),
                                                _mm_loadl_epi64(reinterpret_cast<const __m128i*>(hi)));
        return Signed ? _mm256_cvtepi8_epi16(pairs) : _mm256_cvtepu8_epi16(pairs);
    }
    template <int N>
    static LOWBIT_INLINE vi shift_right16(vi a) noexcept { return _mm256_srli_epi16(a, N); }
    static LOWBIT_INLINE vi widen_u8(const unsigned char* p) noexcept {
        return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    }
    static LOWBIT_INLINE vi widen_s8(const unsigned char* p) noexcept {
        return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    }
    static LOWBIT_INLINE vf zero_f() noexcept { return _mm256_setzero_ps(); }
    static LOWBIT_INLINE vf set1_f(float v) noexcept { return _mm256_set1_ps(v); }
    static LOWBIT_INLINE vf load_half(const unsigned char* p) noexcept {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static LOWBIT_INLINE vf load_f(const unsigned char* p) noexcept { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
    static LOWBIT_INLINE vf to_float(vi v) noexcept { return _mm256_cvtepi32_ps(v); }
    static LOWBIT_INLINE vf mul(vf a, vf b) noexcept { return _mm256_mul_ps(a, b); }
    static LOWBIT_INLINE vf add_f(vf a, vf b) noexcept { return _mm256_add_ps(a, b); }
    static LOWBIT_INLINE void store_f(float* p, vf v) noexcept { _mm256_store_ps(p, v); }
    /// kdot_step's min term: one fused multiply-subtract from the rounded isum term.
    static LOWBIT_INLINE vf min_term(vf t, vf dm, vf msum) noexcept { return _mm256_fnmadd_ps(dm, msum, t); }
    static LOWBIT_INLINE vf sum_lanes(const vf (&l)[8]) noexcept { return sum_hadd_order<ymm_ops>(l); }
    template <std::size_t Bytes>
    static LOWBIT_INLINE void prefetch(const unsigned char* p) noexcept { prefetch_ahead<Bytes>(p); }
};

}  // namespace x86_impl

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
