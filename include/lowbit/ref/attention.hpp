#pragma once
/// \file ref/attention.hpp
/// Reference kernels of attention.hpp's float steps, on the `scalar` tag: the specification every backend's
/// kernels reproduce bit for bit (each value goes through the same fused multiply-adds in the same order; a SIMD
/// kernel only computes several at once).
///   half_to_float     f16 keys or values as floats (exact);
///   float_scores      q . k of f16 keys, in 16 lanes (lane j takes i = j mod 16, an fma chain in i's order),
///                     the lanes then added pairwise: 8, 4, 2, 1;
///   attention_chunk   one chunk's step of the running softmax of several query rows (see below).
#include "../core/backends.hpp"
#include "../half.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

/// e^x for the softmax's x <= 0, relative error below 2^-22; exactly 0 below -87 (and for -inf; NaN gives e^-87). x = k ln2 + r
/// (Cody-Waite, |r| <= ln2 / 2), e^r by its degree-6 Taylor polynomial in Horner's fmas, 2^k from the exponent bits.
/// The SIMD kernels evaluate these same operations lane by lane.
inline float softmax_exp(float x) noexcept {
    constexpr float log2e = 1.44269504f, ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-6f, round_magic = 12582912.0f;
    const float xc = x > -87.0f ? x : -87.0f;  // NaN -> -87: no undefined float -> int conversion below
    const float k = std::fma(xc, log2e, round_magic) - round_magic;  // round to nearest: 1.5 * 2^23 drops the fraction
    const float r = std::fma(k, -ln2_lo, std::fma(k, -ln2_hi, xc));
    float p = 1.0f / 720;
    p = std::fma(p, r, 1.0f / 120);
    p = std::fma(p, r, 1.0f / 24);
    p = std::fma(p, r, 1.0f / 6);
    p = std::fma(p, r, 0.5f);
    p = std::fma(p, r, 1.0f);
    p = std::fma(p, r, 1.0f);
    const float two_k = bits_to_float(static_cast<std::uint32_t>(static_cast<std::int32_t>(k) + 127) << 23);
    return x < -87.0f ? 0.0f : p * two_k;
}

/// half bits -> float, exact for every half; a NaN keeps its payload and comes out quiet (as F16C's and NEON's
/// conversions give it). Branch-free: the 15 magnitude bits shifted into a float's place are the value times
/// 2^-112, exactly; Inf and NaN then take the float's all-ones exponent.
inline float half_bits_to_float(std::uint16_t h) noexcept {
    const float magnitude = bits_to_float(static_cast<std::uint32_t>(h & 0x7FFFu) << 13) * 0x1p112f;
    const bool inf_or_nan = (h & 0x7C00u) == 0x7C00u, nan = inf_or_nan && (h & 0x3FFu) != 0;
    const std::uint32_t special = (inf_or_nan ? 0x7F800000u : 0u) | (nan ? 0x00400000u : 0u);
    return bits_to_float(float_to_bits(magnitude) | special | (static_cast<std::uint32_t>(h & 0x8000u) << 16));
}

/// attention_chunk's steps in the reference's order, written once for the SIMD backends, which provide Ops:
///   Ops::rescale(o, dim, f)                              o_d = o_d * f
///   Ops::exps(s, a, b, m)                                s_t = softmax_exp(s_t - m) for t in [a, b)
///   Ops::template accumulate<R>(p, v, dim, a, b, o, d0)  o[r][d0 .. d0 + 16) = fma(p[r][t], v_t, o[r]) over t in
///                                                        [a, b), in order, for R (1 to 4) rows seeing those tokens
template <class Ops>
void attention_chunk_by(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo, const std::size_t* hi,
                        float scale, const float* v, std::size_t dim, float* m, float* l, float* o) noexcept {
    constexpr float empty = -std::numeric_limits<float>::infinity();
    for (std::size_t r = 0; r < rows; ++r) {
        if (lo[r] >= hi[r]) continue;
        float* sr = s + r * s_stride;
        float mc = empty;
        for (std::size_t t = lo[r]; t < hi[r]; ++t) sr[t] = sr[t] * scale, mc = std::max(mc, sr[t]);
        const float m_new = std::max(m[r], mc);
        if (m[r] == empty) {
            l[r] = 0.0f;
            std::fill(o + r * dim, o + (r + 1) * dim, 0.0f);
        } else {
            const float f = softmax_exp(m[r] - m_new);
            l[r] = l[r] * f;
            Ops::rescale(o + r * dim, dim, f);
        }
        m[r] = m_new;
        Ops::exps(sr, lo[r], hi[r], m_new);
        float sum = l[r];
        for (std::size_t t = lo[r]; t < hi[r]; ++t) sum = sum + sr[t];
        l[r] = sum;
    }
    // o += p v, up to 4 rows at a time that see the same tokens (a query token's heads of one KV head): each value
    // row is loaded once for them.
    for (std::size_t r = 0; r < rows;) {
        std::size_t n = 1;
        while (n < 4 && r + n < rows && lo[r + n] == lo[r] && hi[r + n] == hi[r]) ++n;
        if (lo[r] < hi[r]) {
            const float* p[4];
            float* out[4];
            for (std::size_t i = 0; i < n; ++i) p[i] = s + (r + i) * s_stride, out[i] = o + (r + i) * dim;
            for (std::size_t d0 = 0; d0 < dim; d0 += 16) {
                switch (n) {
                    case 4: Ops::template accumulate<4>(p, v, dim, lo[r], hi[r], out, d0); break;
                    case 3: Ops::template accumulate<3>(p, v, dim, lo[r], hi[r], out, d0); break;
                    case 2: Ops::template accumulate<2>(p, v, dim, lo[r], hi[r], out, d0); break;
                    default: Ops::template accumulate<1>(p, v, dim, lo[r], hi[r], out, d0); break;
                }
            }
        }
        r += n;
    }
}

}  // namespace ref

inline void half_to_float(const half_bytes* x, float* y, std::size_t n, const scalar&) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = ref::half_bits_to_float(x[i].bits());
}

/// s[r * s_stride + t] = q_r . k_t for rows q_r (q + r * dim) and tokens k_t (k + t * dim); dim a multiple of 16.
inline void float_scores(const float* q, std::size_t rows, const float* k, std::size_t tokens, std::size_t dim,
                         float* s, std::size_t s_stride, const scalar&) noexcept {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t t = 0; t < tokens; ++t) {
            float lanes[16] = {};
            for (std::size_t i = 0; i < dim; i += 16)
                for (int j = 0; j < 16; ++j) lanes[j] = std::fma(q[r * dim + i + j], k[t * dim + i + j], lanes[j]);
            for (int width = 8; width >= 1; width /= 2)
                for (int j = 0; j < width; ++j) lanes[j] += lanes[j + width];
            s[r * s_stride + t] = lanes[0];
        }
}

/// One chunk's step of the running softmax of `rows` query rows. Row r sees the chunk's tokens [lo[r], hi[r])
/// (none if lo[r] >= hi[r]); its raw scores are s[r * s_stride + t], the value of token t is v + t * dim, and its
/// state is max m[r] (-inf before its first token), sum l[r] and output o + r * dim. For each row that sees tokens:
///   s_t = s_t * scale, mc = max s_t, m' = max(m, mc);
///   if m was -inf: l = 0, o = 0; else f = exp(m - m'), l = l * f, o_d = o_d * f;
///   p_t = exp(s_t - m') (kept in s), l = l + p_t in token order, o_d = fma(p_t, v_t,d, o_d) in token order.
/// dim is a multiple of 16.
inline void attention_chunk(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, float scale, const float* v, std::size_t dim, float* m, float* l,
                            float* o, const scalar&) noexcept {
    for (std::size_t r = 0; r < rows; ++r) {
        if (lo[r] >= hi[r]) continue;
        float* sr = s + r * s_stride;
        float* orow = o + r * dim;
        float mc = -std::numeric_limits<float>::infinity();
        for (std::size_t t = lo[r]; t < hi[r]; ++t) sr[t] = sr[t] * scale, mc = std::max(mc, sr[t]);
        const float m_new = std::max(m[r], mc);
        if (m[r] == -std::numeric_limits<float>::infinity()) {
            l[r] = 0.0f;
            std::fill(orow, orow + dim, 0.0f);
        } else {
            const float f = ref::softmax_exp(m[r] - m_new);
            l[r] = l[r] * f;
            for (std::size_t d = 0; d < dim; ++d) orow[d] = orow[d] * f;
        }
        m[r] = m_new;
        for (std::size_t t = lo[r]; t < hi[r]; ++t) sr[t] = ref::softmax_exp(sr[t] - m_new);
        for (std::size_t t = lo[r]; t < hi[r]; ++t) l[r] = l[r] + sr[t];
        for (std::size_t t = lo[r]; t < hi[r]; ++t)
            for (std::size_t d = 0; d < dim; ++d) orow[d] = std::fma(sr[t], v[t * dim + d], orow[d]);
    }
}

}  // namespace arch
LOWBIT_NAMESPACE_END
