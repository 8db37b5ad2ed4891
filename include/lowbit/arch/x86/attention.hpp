#pragma once
/// \file arch/x86/attention.hpp
/// The 256-bit x86 pieces of attention_codes and value_codes (ref/attention.hpp), shared by the AVX2, AVX-VNNI and
/// AVX-512 VNNI backends: a value block's codes as bytes, the int16 weights 8 tokens at a time, and the exact
/// integer sums over pairs of tokens, with the int16 pair dot as a parameter Pairs:
///   madd_pairs    AVX2: vpmaddwd, then vpaddd
///   dpwssd_pairs  AVX-VNNI: vpdpwssd on ymm (only where LOWBIT_HAVE_AVX_VNNI); AVX-512 VNNI has its own, with the
///                 EVEX encoding (arch/avx512/attention.hpp)
/// Pairs::dot(acc, a, b) = acc + a0 * b0 + a1 * b1 per int32 lane of int16 pairs (wrapping; the sums here never do).
#include "../../ref/attention.hpp"
#include "int8_dot.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"

#include <cstring>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

struct madd_pairs {
    static LOWBIT_INLINE __m256i dot(__m256i acc, __m256i a, __m256i b) noexcept {
        return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
    }
};

#if LOWBIT_HAVE_AVX_VNNI
struct dpwssd_pairs {
    static LOWBIT_INLINE __m256i dot(__m256i acc, __m256i a, __m256i b) noexcept {
#if defined(LOWBIT_AVX_VNNI_EMULATE)
        return madd_pairs::dot(acc, a, b);  // tests only, in AVX2: the same sums
#else
        return _mm256_dpwssd_avx_epi32(acc, a, b);
#endif
    }
};
#endif

/// A value block's 32 codes (ref::block_value_codes) as bytes.
template <class Block>
LOWBIT_INLINE __m256i block_value_codes(const Block& b) noexcept {
    if constexpr (std::is_same<Block, q8_0::block>::value) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    } else if constexpr (ref::nibble_format<Block>::value) {
        using traits = ref::nibble_format<Block>;
        const __m256i c = unpack_codes(b);
        return traits::has_min ? c : _mm256_sub_epi8(c, _mm256_set1_epi8(static_cast<char>(traits::zero_point)));
    } else {
        return table_values(b, value_table<typename Block::format>());
    }
}

/// ref::value_weights for the tokens [g0, g1) (multiples of 8, g1 <= ref::value_codes_tokens) of a row whose
/// probabilities pm are 0 outside its tokens: w[t] for every t in [g0, g1). Where pm is 0 the weight is 0 whatever
/// x holds there (as the reference's for a token it reads).
LOWBIT_INLINE float code_weights(const float* pm, const float* x, std::size_t g0, std::size_t g1,
                                 std::int16_t* w) noexcept {
    alignas(32) float wf[ref::value_codes_tokens];
    const __m256 sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps();
    __m256 amax = _mm256_set1_ps(0x1p-100f);
    for (std::size_t g = g0; g < g1; g += 8) {
        const __m256 p8 = _mm256_load_ps(pm + g);
        const __m256 v = _mm256_and_ps(_mm256_mul_ps(p8, _mm256_loadu_ps(x + g)), _mm256_cmp_ps(p8, zero, _CMP_NEQ_UQ));
        _mm256_store_ps(wf + g, v);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float a = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    const __m256 inverse = _mm256_set1_ps(32767.0f / a);
    for (std::size_t g = g0; g < g1; g += 8) {
        const __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_load_ps(wf + g), inverse));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w + g),
                         _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
    }
    return a / 32767.0f;
}

/// acc += the pair of tokens' codes (lo: values 0-7, hi: 8-15, as int16 pairs of the two tokens) times the pair
/// of weights at w (|each int32 lane| <= 2 * 32768 * 128: no overflow), by Pairs::dot.
template <class Pairs>
LOWBIT_INLINE void madd_pair(__m256i& acc_lo, __m256i& acc_hi, __m256i lo, __m256i hi, const std::int16_t* w) noexcept {
    std::int32_t pair;
    std::memcpy(&pair, w, 4);
    const __m256i wp = _mm256_set1_epi32(pair);
    acc_lo = Pairs::dot(acc_lo, lo, wp);
    acc_hi = Pairs::dot(acc_hi, hi, wp);
}

/// o[d] = fma(step, float(isum[d]), o[d]) for 16 values.
LOWBIT_INLINE void add_scaled(float* o, float step, const std::int32_t* isum) noexcept {
    const __m256 s = _mm256_set1_ps(step);
    for (int i = 0; i < 16; i += 8) {
        const __m256 x = _mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(isum + i)));
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(s, x, _mm256_loadu_ps(o + i)));
    }
}

/// isum[r][i] = sum over tokens t in [u0, u1) of w[r * w_stride + t] * x[t * dim + i], i < 16, for R (1 to 4) rows;
/// w[r * w_stride + u1] is 0. Tokens t and t + 1: their codes interleaved as int16 pairs, times the pair (w_t, w_t+1)
/// by vpmaddwd; an odd last token t pairs with itself under w_t+1 = 0. The accumulators are named variables and
/// leave through memory, in a function of their own: as an array, or converted in the caller's code straight from
/// their registers, GCC copies each one after every add.
template <class Pairs, int R>
LOWBIT_NOINLINE void pair_sums(const std::int8_t* x, std::size_t dim, std::size_t u0, std::size_t u1, const std::int16_t* w,
               std::size_t w_stride, std::int32_t* isum) noexcept {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
    for (std::size_t t = u0; t < u1; t += 2) {
        const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + t * dim));
        const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + (t + 1 < u1 ? t + 1 : t) * dim));
        const __m256i lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1));
        const __m256i hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1));
        madd_pair<Pairs>(a0, a1, lo, hi, w + t);
        if constexpr (R > 1) madd_pair<Pairs>(b0, b1, lo, hi, w + w_stride + t);
        if constexpr (R > 2) madd_pair<Pairs>(c0, c1, lo, hi, w + 2 * w_stride + t);
        if constexpr (R > 3) madd_pair<Pairs>(d0, d1, lo, hi, w + 3 * w_stride + t);
    }
    const auto store = [&](int r, __m256i lo, __m256i hi) LOWBIT_INLINE_LAMBDA {
        _mm256_store_si256(reinterpret_cast<__m256i*>(isum + 16 * r), lo);
        _mm256_store_si256(reinterpret_cast<__m256i*>(isum + 16 * r + 8), hi);
    };
    store(0, a0, a1);
    if constexpr (R > 1) store(1, b0, b1);
    if constexpr (R > 2) store(2, c0, c1);
    if constexpr (R > 3) store(3, d0, d1);
}

/// attention_codes for R (1 to 4) rows (row i: probabilities pm[i], 0 outside its tokens, and output o[i]) over
/// the tokens [u0, u1) that some of them see.
template <class Pairs, int R>
void codes_rows(const float* const* pm, std::size_t u0, std::size_t u1, const std::int8_t* codes, const float* d,
                const float* mins, std::size_t d_stride, std::size_t dim, float* const* o) noexcept {
    constexpr std::size_t n = ref::value_codes_tokens;
    alignas(32) std::int16_t w[4][n + 8];
    const std::size_t g0 = u0 / 8 * 8, g1 = std::min(n, (u1 + 8) / 8 * 8);  // w[u1] too (0: outside the rows)
    for (int r = 0; r < R; ++r) _mm_storeu_si128(reinterpret_cast<__m128i*>(w[r] + n), _mm_setzero_si128());
    float step[R];
    for (std::size_t b = 0; b < dim / 32; ++b) {
        for (int r = 0; r < R; ++r) step[r] = code_weights(pm[r], d + b * d_stride, g0, g1, w[r]);
        for (std::size_t off = 32 * b; off < 32 * b + 32; off += 16) {
            alignas(32) std::int32_t isum[4][16];
            pair_sums<Pairs, R>(codes + off, dim, u0, u1, w[0], n + 8, isum[0]);
            for (int r = 0; r < R; ++r) add_scaled(o[r] + off, step[r], isum[r]);
        }
        if (mins)
            for (int r = 0; r < R; ++r) {
                const float min_step = code_weights(pm[r], mins + b * d_stride, g0, g1, w[r]);
                __m256i sum = _mm256_setzero_si256();
                for (std::size_t g = g0; g < g1; g += 8) {
                    const __m128i w8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[r] + g));
                    sum = _mm256_add_epi32(sum, _mm256_cvtepi16_epi32(w8));
                }
                const __m256 s = _mm256_set1_ps(min_step), msum = _mm256_set1_ps(static_cast<float>(hsum_epi32(sum)));
                float* y = o[r] + 32 * b;
                for (int i = 0; i < 32; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(s, msum, _mm256_loadu_ps(y + i)));
            }
    }
}

/// attention_codes with the int16 pair dot Pairs, through ref::codes_in_row_groups.
template <class Pairs>
struct codes_ops {
    const std::int8_t* codes;
    const float *d, *mins;
    std::size_t d_stride, dim;
    /// Masked loads: no lane outside the row's tokens is read.
    static void probabilities(const float* p, std::size_t lo, std::size_t hi, float* pm) noexcept {
        const __m256i a = _mm256_set1_epi32(static_cast<int>(lo) - 1), b = _mm256_set1_epi32(static_cast<int>(hi));
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        for (std::size_t t = 0; t < ref::value_codes_tokens; t += 8) {
            const __m256i i = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(t)), lanes);
            const __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(i, a), _mm256_cmpgt_epi32(b, i));
            _mm256_store_ps(pm + t, _mm256_maskload_ps(p + t, in));
        }
    }
    template <int R>
    void rows(const float* const* pm, std::size_t u0, std::size_t u1, float* const* o) const noexcept {
        codes_rows<Pairs, R>(pm, u0, u1, codes, d, mins, d_stride, dim, o);
    }
};

template <class Pairs>
void attention_codes_by(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                        const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                        std::size_t d_stride, std::size_t dim, float* o) noexcept {
    ref::codes_in_row_groups(p, p_stride, rows, lo, hi, dim, o, codes_ops<Pairs>{codes, d, mins, d_stride, dim});
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
