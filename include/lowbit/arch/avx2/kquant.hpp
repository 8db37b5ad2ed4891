#pragma once
/// \file arch/avx2/kquant.hpp
/// AVX2 kernels for the K-quants and q8_K on the x86 decoders of arch/x86/kquant.hpp.
#include "../../core/matmul.hpp"
#include "../x86/kquant.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// As the reference: with a min, x_i = float(float(d * sc_s) * u_i) - float(dmin * m_s) (rounded product, no
/// FMA); symmetric, x_i = float(d * sc_s) * (u_i - Z).
template <class Block, ref::if_kquant<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    using traits = ref::kquant<Block>;
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const group_scales s = kblock<Block>::scales(x[b]);
        alignas(32) float dl[16], ml[16];
        scale_groups(load_half1(x[b].d), s.sc, dl);
        if constexpr (traits::has_min) scale_groups(load_half1(x[b].dmin), s.m, ml);
        unroll<8>([&](auto chunk) {
            constexpr int c = decltype(chunk)::value;
            __m256i codes = kblock<Block>::template codes<c>(x[b]);
            if constexpr (!traits::has_min) codes = _mm256_sub_epi8(codes, _mm256_set1_epi8(traits::zero));
            unroll<4>([&](auto quarter) {
                constexpr int q = decltype(quarter)::value, g = 2 * c + q / 2;
                const fbatch u = quarter_to_float<q, !traits::has_min>(codes);
                float* out = y + 32 * c + 8 * q;
                if constexpr (traits::has_min) (rounded(fbatch(dl[g]) * u) - fbatch(ml[g])).store_unaligned(out);
                else (fbatch(dl[g]) * u).store_unaligned(out);
            });
        });
    }
}

/// Sum over blocks of (d * d_a) * float(isum) - (dmin * d_a) * float(msum) (see the reference), 8 blocks per
/// step: their integer sums are reduced exactly, then converted and scaled in 8 float lanes.
template <class Block, ref::if_kquant<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx2&) noexcept {
    return x86_impl::kdot_blocks<x86_impl::kdecoder_ymm<x86_impl::maddubs_dot>>(w, a, nblocks);
}

/// As the reference: m = the first value of largest |x|, iscale = -127 / m, q = nearest(iscale * x) (ties to
/// even, clamped to -128..127), d = 1 / iscale, bsums the 16-value sums of q. Inputs must be finite.
inline void quantize_blocks(const float* x, q8_K::block* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (std::size_t b = 0; b < nblocks; ++b, x += qk_k) {
        __m256 amax = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        const float m = hmax(amax);
        float max = 0.0f;  // the reference's first value of largest magnitude; +0 for an all-zero block
        for (int j = 0; m != 0.0f; j += 8) {
            const int eq = _mm256_movemask_ps(
                _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), _mm256_set1_ps(m), _CMP_EQ_OQ));
            if (eq != 0) {
                max = x[j + __builtin_ctz(static_cast<unsigned>(eq))];
                break;
            }
        }
        const float iscale = max != 0.0f ? -127.0f / max : 0.0f;
        const __m256 scale = _mm256_set1_ps(iscale), lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
        __m256i group_sums[2][8];  // [g / 8][g % 8]: 8 int32 lanes summing to group g's 16 codes
        for (int c = 0; c < 8; ++c) {
            __m256i q[4];
            for (int i = 0; i < 4; ++i) {
                // Clamped in float first: maxps returns its second operand for NaN (0 * Inf when iscale
                // overflows), which the reference also maps to -128. cvtps2dq rounds to nearest even.
                const __m256 v = _mm256_mul_ps(scale, _mm256_loadu_ps(x + 32 * c + 8 * i));
                q[i] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
            }
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + 32 * c), pack_bytes(q));
            group_sums[c / 4][2 * (c % 4)] = _mm256_add_epi32(q[0], q[1]);
            group_sums[c / 4][2 * (c % 4) + 1] = _mm256_add_epi32(q[2], q[3]);
        }
        // |sum| <= 16 * 128 fits int16; packs interleaves the halves by 64-bit quarters, the permute undoes it.
        const __m256i packed = _mm256_packs_epi32(reduce8(group_sums[0]), reduce8(group_sums[1]));
        const __m256i sums = _mm256_permute4x64_epi64(packed, 0xD8);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].bsums), sums);
        y[b].d.set(max != 0.0f ? 1.0f / iscale : 0.0f);
    }
}

/// x_i = d * q_i.
inline void dequantize_blocks(const q8_K::block* x, float* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const fbatch d(x[b].d.value());
        for (int j = 0; j < 256; j += 8) (d * bytes_to_float<true>(x[b].qs + j)).store_unaligned(y + j);
    }
}

/// A K panel packed for GEMM on the fly (core/matmul.hpp's pack_panel), the same bytes as detail::pack_block_row: each
/// row's scales as there, its codes 32 at a time in registers (kblock::codes), 8 rows transposed into lines of 4 codes
/// per row, from which kquant_block_rows::panel_plane builds each bit plane with whole-line byte operations instead of
/// one 4-byte store per row and plane word.
template <class WFmt, std::enable_if_t<packed_layout<WFmt>::kquant, int> = 0>
void pack_panel(const_qmatrix_view<WFmt> w, std::size_t p0, std::size_t n, unsigned char* bytes, const avx2&) {
    using L = packed_layout<WFmt>;
    using Block = typename WFmt::block;
    using rows = detail::kquant_block_rows<WFmt>;
    alignas(32) unsigned char codes[L::rows * qk_k];
    const Block zero{};
    for (std::size_t b = 0; b < w.blocks_per_row(); ++b) {
        unsigned char* pb = bytes + b * L::bytes;
        for (std::size_t half = 0; half < 2; ++half) {
            const Block* block[8];
            for (std::size_t j = 0; j < 8; ++j) {
                const std::size_t r = 8 * half + j;
                block[j] = r < n ? &w.row(p0 + r)[b] : &zero;
                rows::pack_scales(*block[j], r, pb);
            }
            x86_impl::unroll<8>([&](auto chunk) {
                constexpr int k = decltype(chunk)::value;
                __m256i v[8];
                for (int j = 0; j < 8; ++j) v[j] = x86_impl::kblock<Block>::template codes<k>(*block[j]);
                x86_impl::store_row_groups(v, k, half, codes);
            });
        }
        rows::panel_planes(codes, pb);
    }
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
