#pragma once
/// \file arch/avx512/kquant.hpp
/// AVX-512 VNNI dot products of the K-quants q2_K ... q6_K with q8_K (GEMV, and GEMM through arch/avx512/gemm.hpp).
/// Quantize and dequantize, and the avx512 (BW) backend, use the AVX2 kernels.
///
/// The integer block sums are those of arch/x86/kquant.hpp, and the float step is the same kdot_step, so the
/// results equal the AVX2 backend's bit for bit. What changes is how the sums are formed: two 32-weight chunks per
/// 512-bit vector, vpdpbusd for the code x activation products (one int32 per 4 weights, |sum| <= 4 * 63 * 128,
/// so it fits the low 16 bits) and vpmaddwd for the group scales, instead of vpmaddubsw + vpmaddwd per chunk.
#include "../x86/kquant.hpp"
#include "common.hpp"

LOWBIT_AVX512_KERNELS_BEGIN

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace avx512_impl {

/// A K block decoded for vpdpbusd: vector j holds chunks 2j and 2j + 1 (weights 64j .. 64j + 63); lane l of
/// scale[j] is the scale of the group that lane l of the products covers (group 4j + l / 4), zero-extended
/// from 16 bits.
struct kblock_decoded {
    __m512i codes[4], scale[4];
    x86_impl::group_scales s;
};

struct kdecoder {
    template <class Block>
    static LOWBIT_INLINE kblock_decoded decode(const Block& w) noexcept {
        using x86_impl::kblock;
        kblock_decoded d;
        d.s = kblock<Block>::scales(w);
        // Lane g: group g's scale in bits 0-15 (widened in two AVX2 halves: SIMDe has no _mm512_cvtepu16_epi32).
        const __m512i group_scale = avx512_impl::join(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(d.s.sc)),
                                                        _mm256_cvtepu16_epi32(_mm256_extracti128_si256(d.s.sc, 1)));
        x86_impl::unroll<4>([&](auto pair) {
            constexpr int j = decltype(pair)::value, g = 4 * j;
            d.codes[j] = avx512_impl::join(kblock<Block>::template codes<2 * j>(w),
                                             kblock<Block>::template codes<2 * j + 1>(w));
            d.scale[j] = _mm512_permutexvar_epi32(
                _mm512_setr_epi32(g, g, g, g, g + 1, g + 1, g + 1, g + 1, g + 2, g + 2, g + 2, g + 2, g + 3, g + 3,
                                  g + 3, g + 3),
                group_scale);
        });
        return d;
    }

    template <class Block>
    static LOWBIT_INLINE x86_impl::kblock_sums dot(const kblock_decoded& w, const q8_K::block& a) noexcept {
        __m512i acc = _mm512_setzero_si512();
        x86_impl::unroll<4>([&](auto pair) {
            constexpr int j = decltype(pair)::value;
            const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.codes[j], _mm512_loadu_si512(a.qs + 64 * j));
            // The low 16 bits of each sum times the scale (the high 16 bits times 0): the exact product.
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(sums, w.scale[j]));
        });
        const __m256i isum = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
        return x86_impl::add_bsums_terms<Block>(isum, w.s, a);
    }
};

}  // namespace avx512_impl

template <class Block, ref::if_kquant<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx512_vnni&) noexcept {
    return x86_impl::kdot_blocks<avx512_impl::kdecoder>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch

LOWBIT_AVX512_KERNELS_END
