#pragma once
/// \file arch/avx2/q8.hpp
/// AVX2 kernels for q8_0 and q8_1, with the reference's results (ref/q8.hpp): identical bytes and
/// floats from quantize and dequantize, exact integer block sums in dot. Inputs to quantize must be finite.
#include "../../ref/q8.hpp"
#include "../x86/common.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// std::round (half away from zero) of each lane, as int32: trunc(|p|) + (|p| - trunc(|p|) >= 0.5), with the
/// sign put back. Exact: the fraction of a float is representable. (Rounding mode "nearest" would round
/// halves to even.)
LOWBIT_INLINE __m256i round_half_away(fbatch p) noexcept {
    const fbatch a = xsimd::abs(p);
    const fbatch t = xsimd::trunc(a);
    const fbatch r = t + xsimd::select(a - t >= fbatch(0.5f), fbatch(1.0f), fbatch(0.0f));
    return trunc_to_int(xsimd::copysign(r, p));
}

/// q8_0 x q8_0: 8 int32 lanes summing to the block's exact sum of products. The bytes are widened to int16
/// for vpmaddwd, because the maddubs sign trick (|w| * sign(a, w)) is wrong for a = -128 with w < 0
/// (negating -128 wraps), and dot must be exact for every byte pattern.
LOWBIT_INLINE __m256i isum_q8(const std::int8_t* w, const std::int8_t* a) noexcept {
    auto half = [w, a](int h) {
        const __m128i wh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16 * h));
        const __m128i ah = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 16 * h));
        return _mm256_madd_epi16(_mm256_cvtepi8_epi16(wh), _mm256_cvtepi8_epi16(ah));
    };
    return _mm256_add_epi32(half(0), half(1));
}

}  // namespace x86_impl

/// As the reference: d = max|x| / 127, q = round-half-away(x * (1/d)); q8_1 also s = fp16(sum(q) * d).
template <class Block, ref::if_q8_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const block_f32 v(x);
        const float d = max_abs(v) / 127.0f;
        const fbatch id(ref::inverse_or_zero(d));
        const __m256i q[4] = {round_half_away(rounded(v.v[0] * id)), round_half_away(rounded(v.v[1] * id)),
                              round_half_away(rounded(v.v[2] * id)), round_half_away(rounded(v.v[3] * id))};
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), pack_bytes(q));
        store_half1(y[b].d, d);
        if constexpr (std::is_same<Block, q8_1::block>::value) {
            using ibatch = xsimd::batch<std::int32_t, xsimd::avx2>;
            const std::int32_t sum = xsimd::hadd(ibatch(q[0]) + ibatch(q[1]) + ibatch(q[2]) + ibatch(q[3]));
            store_half1(y[b].s, static_cast<float>(sum) * d);
        }
    }
}

/// x_i = q_i * d.
template <class Block, ref::if_q8_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const fbatch d(load_half1(x[b].d));
        for (int i = 0; i < 4; ++i) (bytes_to_float<true>(x[b].qs + 8 * i) * d).store_unaligned(y + 8 * i);
    }
}

/// Sum over blocks of isum * (d_w * d_a), 8 blocks per step (see x86_impl::dot_driver).
inline float dot_blocks(const q8_0::block* w, const q8_0::block* a, std::size_t nblocks, const avx2&) noexcept {
    return x86_impl::dot_driver<false>(
        w, a, nblocks, [](const q8_0::block& wb, const q8_0::block& ab) { return x86_impl::isum_q8(wb.qs, ab.qs); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
