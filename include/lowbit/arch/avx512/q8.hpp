#pragma once
/// \file arch/avx512/q8.hpp
/// AVX-512 kernels for q8_0 and q8_1 (the arithmetic is specified by ref/q8.hpp; results are
/// bit-identical, dot products up to float reassociation). Quantize and dequantize take one block (two 512-bit
/// float registers) per iteration; the q8_0 dot takes two blocks per 512-bit register (arch/avx512/common.hpp).
#include "../../format/q8_0.hpp"
#include "../../format/q8_1.hpp"
#include "../../ref/q8.hpp"
#include "common.hpp"

LOWBIT_AVX512_KERNELS_BEGIN

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// As the reference: d = max|x| / 127, q = roundf(float(x * (1/d))), q8_1 adds s = fp16(float(sum q) * d).
/// Precondition: finite input (the public API checks it).
template <class Block, ref::if_q8_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const avx512&) noexcept {
    using namespace avx512_impl;
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
        const float d = reduce_extreme<true>(abs_ps(lo), abs_ps(hi)) / 127.0f;
        const __m512 id = _mm512_set1_ps(ref::inverse_or_zero(d));
        // The product must be rounded before roundf's own arithmetic on it (p - trunc(p)) could absorb it.
        const __m512i q0 = round_half_away(detail::rounded(_mm512_mul_ps(lo, id)));
        const __m512i q1 = round_half_away(detail::rounded(_mm512_mul_ps(hi, id)));
        store16(y[b].qs, _mm512_cvtepi32_epi8(q0));
        store16(y[b].qs + 16, _mm512_cvtepi32_epi8(q1));
        store_half(y[b].d, d);
        if constexpr (std::is_same<Block, q8_1::block>::value)
            store_half(y[b].s, static_cast<float>(reduce_add(_mm512_add_epi32(q0, q1))) * d);
    }
}

/// x_i = float(q_i) * d, 16 values per multiply.
template <class Block, ref::if_q8_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const avx512&) noexcept {
    using namespace avx512_impl;
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const __m512 d = _mm512_set1_ps(load_half(x[b].d));
        _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(load16(x[b].qs))), d));
        _mm512_storeu_ps(y + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(load16(x[b].qs + 16))), d));
    }
}

/// q8_0 x q8_0 with AVX-512BW: codes sign-extended to int16 and multiplied pairwise by vpmaddwd. (vpmaddubsw
/// would need |w| and sign-flipped a, which is wrong for -128 codes and saturates at int16; any byte is valid.)
/// Per block pair: 4 vpmovsxbw, 2 vpmaddwd, 2 shuffles, 1 add; then the shared per-block reduction.
inline float dot_blocks(const q8_0::block* w, const q8_0::block* a, std::size_t nblocks, const avx512&) noexcept {
    using namespace avx512_impl;
    return dot_by_pairs(w, a, nblocks, [](const q8_0::block& w0, const q8_0::block& a0, const q8_0::block& w1,
                                          const q8_0::block& a1) noexcept {
        const __m512i p0 = _mm512_madd_epi16(_mm512_cvtepi8_epi16(load32(w0.qs)), _mm512_cvtepi8_epi16(load32(a0.qs)));
        const __m512i p1 = _mm512_madd_epi16(_mm512_cvtepi8_epi16(load32(w1.qs)), _mm512_cvtepi8_epi16(load32(a1.qs)));
        // Lanes 0-7: block 0's 128-bit lanes 0+2 and 1+3; lanes 8-15: block 1's.
        return _mm512_add_epi32(_mm512_shuffle_i32x4(p0, p1, 0x44), _mm512_shuffle_i32x4(p0, p1, 0xEE));
    });
}

#if LOWBIT_HAVE_AVX512_VNNI
/// q8_0 x q8_0 with VNNI: vpdpbusd needs one unsigned operand, so w + 128 (w xor 0x80) times a, minus
/// 128 * sum(a) from a second vpdpbusd. Exact for every byte. Per block pair: 2 loads, 1 xor, 2 vpdpbusd, 1 sub.
inline float dot_blocks(const q8_0::block* w, const q8_0::block* a, std::size_t nblocks, const avx512_vnni&) noexcept {
    using namespace avx512_impl;
    return dot_by_pairs(w, a, nblocks, [](const q8_0::block& w0, const q8_0::block& a0, const q8_0::block& w1,
                                          const q8_0::block& a1) noexcept {
        const __m512i u = _mm512_xor_si512(load_pair(w0.qs, w1.qs), _mm512_set1_epi8(static_cast<char>(0x80)));
        return pair_sums_vnni<128>(u, load_pair(a0.qs, a1.qs));
    });
}
#endif

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch

LOWBIT_AVX512_KERNELS_END
