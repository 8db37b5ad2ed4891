#pragma once
/// \file arch/avx2/attention.hpp
/// AVX2 kernels of attention.hpp's steps (ref/attention.hpp), bit for bit the reference's: 8 lanes run the
/// reference's float operations for 8 values at once, and attention_codes' exact integer sums come from vpmaddwd
/// over pairs of tokens (arch/x86/attention.hpp). The AVX-512 and AVX-VNNI backends inherit them (on Zen 4 a ymm
/// FMA has the throughput of a zmm one), except attention_codes, which they run with vpdpwssd.
#include "../x86/attention.hpp"

#include <immintrin.h>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// ref::softmax_exp on 8 lanes.
LOWBIT_INLINE __m256 softmax_exp8(__m256 x) noexcept {
    const __m256 magic = _mm256_set1_ps(12582912.0f), floor = _mm256_set1_ps(-87.0f);
    const __m256 xc = _mm256_max_ps(x, floor);  // (x > floor) ? x : floor, NaN included, as the reference
    const __m256 k = _mm256_sub_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504f), magic), magic);
    const __m256 r = _mm256_fmadd_ps(k, _mm256_set1_ps(-1.42860677e-6f),
                                     _mm256_fmadd_ps(k, _mm256_set1_ps(-0.693145752f), xc));
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(k), _mm256_set1_epi32(127)), 23);
    const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, floor, _CMP_LT_OQ), e);  // 0 where x < -87
}

/// ref::softmax_step_by's and ref::accumulate_values_by's operations on 8 lanes.
struct attention_ops {
    static void rescale(float* o, std::size_t dim, float f) noexcept {
        const __m256 f8 = _mm256_set1_ps(f);
        for (std::size_t d = 0; d < dim; d += 8) _mm256_storeu_ps(o + d, _mm256_mul_ps(_mm256_loadu_ps(o + d), f8));
    }
    static void exps(float* s, std::size_t a, std::size_t b, float m) noexcept {
        const __m256 m8 = _mm256_set1_ps(m);
        std::size_t t = a;
        for (; t + 8 <= b; t += 8) _mm256_storeu_ps(s + t, softmax_exp8(_mm256_sub_ps(_mm256_loadu_ps(s + t), m8)));
        for (; t < b; ++t) s[t] = ref::softmax_exp(s[t] - m);
    }
    template <int R>
    static LOWBIT_INLINE void accumulate(const float* const* p, const float* v, std::size_t dim, std::size_t a,
                                         std::size_t b, float* const* o, std::size_t d0) noexcept {
        using detail::unroll;
        __m256 acc[R][2];
        unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
            acc[r][0] = _mm256_loadu_ps(o[r] + d0), acc[r][1] = _mm256_loadu_ps(o[r] + d0 + 8);
        });
        for (std::size_t t = a; t < b; ++t) {
            const __m256 v0 = _mm256_loadu_ps(v + t * dim + d0), v1 = _mm256_loadu_ps(v + t * dim + d0 + 8);
            unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
                const __m256 pr = _mm256_broadcast_ss(p[r] + t);
                acc[r][0] = _mm256_fmadd_ps(pr, v0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(pr, v1, acc[r][1]);
            });
        }
        unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
            _mm256_storeu_ps(o[r] + d0, acc[r][0]), _mm256_storeu_ps(o[r] + d0 + 8, acc[r][1]);
        });
    }
};

}  // namespace x86_impl

inline void half_to_float(const half_bytes* x, float* y, std::size_t n, const avx2&) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
    half_to_float(x + i, y + i, n - i, scalar{});
}

inline void float_scores(const float* q, std::size_t rows, const float* k, std::size_t tokens, std::size_t dim,
                         float* s, std::size_t s_stride, const avx2&) noexcept {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t t = 0; t < tokens; ++t) {
            const float* qr = q + r * dim;
            const float* kt = k + t * dim;
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();  // lanes 0-7 and 8-15
            for (std::size_t i = 0; i < dim; i += 16) {
                lo = _mm256_fmadd_ps(_mm256_loadu_ps(qr + i), _mm256_loadu_ps(kt + i), lo);
                hi = _mm256_fmadd_ps(_mm256_loadu_ps(qr + i + 8), _mm256_loadu_ps(kt + i + 8), hi);
            }
            const __m256 s8 = _mm256_add_ps(lo, hi);                                           // lanes j + j+8
            const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));  // j + j+4
            const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));                             // j + j+2
            s[r * s_stride + t] = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));            // 0 + 1
        }
}

inline void attention_softmax(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                              const std::size_t* hi, float scale, std::size_t dim, float* m, float* l, float* o,
                              const avx2&) noexcept {
    ref::softmax_step_by<x86_impl::attention_ops>(s, s_stride, rows, lo, hi, scale, dim, m, l, o);
}

inline void attention_values(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                             const std::size_t* hi, const float* v, std::size_t dim, float* o, const avx2&) noexcept {
    ref::accumulate_values_by<x86_impl::attention_ops>(p, p_stride, rows, lo, hi, v, dim, o);
}

template <class Block, ref::if_value_code_format<Block> = 0>
inline void value_codes(const Block* x, std::size_t tokens, std::size_t blocks_per_row, std::int8_t* codes, float* d,
                        float* m, std::size_t stride, const avx2&) noexcept {
    for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t j = 0; j < blocks_per_row; ++j) {
            const Block& b = x[t * blocks_per_row + j];
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + 32 * (t * blocks_per_row + j)),
                                x86_impl::block_value_codes(b));
            d[j * stride + t] = x86_impl::load_half1(b.d);
            if constexpr (Block::format::has_min) m[j * stride + t] = x86_impl::load_half1(b.m);
        }
}

inline void attention_codes(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o, const avx2&) noexcept {
    x86_impl::attention_codes_by<x86_impl::madd_pairs>(p, p_stride, rows, lo, hi, codes, d, mins, d_stride, dim, o);
}

}  // namespace arch
LOWBIT_NAMESPACE_END
