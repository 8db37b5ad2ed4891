#pragma once
/// \file ref/attention.hpp
/// Reference kernels of attention.hpp's steps, on the `scalar` tag: the specification every backend's kernels
/// reproduce bit for bit (each value goes through the same fused multiply-adds in the same order, integer sums are
/// exact in any order; a SIMD kernel only computes several at once).
///   half_to_float     f16 keys or values as floats (exact);
///   float_scores      q . k of f16 keys, in 16 lanes (lane j takes i = j mod 16, an fma chain in i's order),
///                     the lanes then added pairwise: 8, 4, 2, 1;
///   attention_softmax one chunk's step of the running softmax of several query rows (see below);
///   attention_values  o += p v over f16 values as floats;
///   value_codes       a run of quantized value rows as int8 codes and block scales (and mins);
///   attention_codes   o += p v over those codes: exact integer sums with int16 weights (see below).
#include "../core/backends.hpp"
#include "../half.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"
#include "q8.hpp"

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

/// attention_softmax's and attention_values' steps in the reference's order, written once for the SIMD backends,
/// which provide Ops:
///   Ops::rescale(o, dim, f)                              o_d = o_d * f
///   Ops::exps(s, a, b, m)                                s_t = softmax_exp(s_t - m) for t in [a, b)
///   Ops::template accumulate<R>(p, v, dim, a, b, o, d0)  o[r][d0 .. d0 + 16) = fma(p[r][t], v_t, o[r]) over t in
///                                                        [a, b), in order, for R (1 to 4) rows seeing those tokens
template <class Ops>
void softmax_step_by(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo, const std::size_t* hi,
                     float scale, std::size_t dim, float* m, float* l, float* o) noexcept {
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
}

template <class Ops>
void accumulate_values_by(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                          const std::size_t* hi, const float* v, std::size_t dim, float* o) noexcept {
    // Up to 4 rows at a time that see the same tokens (a query token's heads of one KV head): each value row is
    // loaded once for them.
    for (std::size_t r = 0; r < rows;) {
        std::size_t n = 1;
        while (n < 4 && r + n < rows && lo[r + n] == lo[r] && hi[r + n] == hi[r]) ++n;
        if (lo[r] < hi[r]) {
            const float* pr[4];
            float* out[4];
            for (std::size_t i = 0; i < n; ++i) pr[i] = p + (r + i) * p_stride, out[i] = o + (r + i) * dim;
            for (std::size_t d0 = 0; d0 < dim; d0 += 16) {
                switch (n) {
                    case 4: Ops::template accumulate<4>(pr, v, dim, lo[r], hi[r], out, d0); break;
                    case 3: Ops::template accumulate<3>(pr, v, dim, lo[r], hi[r], out, d0); break;
                    case 2: Ops::template accumulate<2>(pr, v, dim, lo[r], hi[r], out, d0); break;
                    default: Ops::template accumulate<1>(pr, v, dim, lo[r], hi[r], out, d0); break;
                }
            }
        }
        r += n;
    }
}

/// attention_codes takes at most this many tokens per call (one chunk): its integer sums, at most
/// 64 * 32767 * 128 < 2^31 in magnitude, are then exact in int32.
constexpr std::size_t value_codes_tokens = 64;

/// attention_codes' weights of one row's tokens [a, b) against one value block: w_t = p_t * x_t (x the block's
/// scale d, or its min m), amax = max(2^-100, max |w_t|), w16_t = round-half-even(w_t * (32767 / amax)), and the
/// returned step amax / 32767 (w_t is about step * w16_t). The floor keeps 32767 / amax finite; weights below
/// 2^-100 of a chunk's largest probability (1 where the row's max is) are 0 in any case. NaN gives -32768 (the
/// int16 that x86's conversion and saturation give; outputs are unspecified then).
inline float value_weights(const float* p, const float* x, std::size_t a, std::size_t b, std::int16_t* w) noexcept {
    float amax = 0x1p-100f;
    for (std::size_t t = a; t < b; ++t) amax = std::max(amax, std::fabs(p[t] * x[t]));
    const float inverse = 32767.0f / amax;
    for (std::size_t t = a; t < b; ++t) {
        const float q = std::nearbyint((p[t] * x[t]) * inverse);
        w[t] = static_cast<std::int16_t>(std::min(32767.0f, std::max(-32768.0f, q)));
    }
    return amax / 32767.0f;
}

/// attention_codes' rows in groups for the SIMD kernels: up to 4 rows that see tokens at a time, each one's
/// probabilities copied to pm[i] (n = value_codes_tokens floats, 0 outside its tokens) by
/// Ops::probabilities(p_row, lo, hi, pm[i]), then Ops::template rows<R>(pm, u0, u1, o_rows) over the tokens
/// [u0, u1) that some of the R rows see.
template <class Ops>
void codes_in_row_groups(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                         const std::size_t* hi, std::size_t dim, float* o, const Ops& ops) noexcept {
    constexpr std::size_t n = value_codes_tokens;
    alignas(32) float pm[4][n];
    const float* pr[4];
    float* orow[4];
    std::size_t count = 0, u0 = n, u1 = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        if (lo[r] < hi[r]) {
            ops.probabilities(p + r * p_stride, lo[r], hi[r], pm[count]);
            pr[count] = pm[count], orow[count] = o + r * dim, ++count;
            u0 = std::min(u0, lo[r]), u1 = std::max(u1, hi[r]);
        }
        if (count == 4 || (r + 1 == rows && count > 0)) {
            switch (count) {
                case 4: ops.template rows<4>(pr, u0, u1, orow); break;
                case 3: ops.template rows<3>(pr, u0, u1, orow); break;
                case 2: ops.template rows<2>(pr, u0, u1, orow); break;
                default: ops.template rows<1>(pr, u0, u1, orow); break;
            }
            count = 0, u0 = n, u1 = 0;
        }
    }
}

/// A value block's 32 codes as int8 (value i = d * code_i + m) and its d and m (m = 0 without a min).
template <class Block>
void block_value_codes(const Block& b, std::int8_t* code, float& d, float& m) noexcept {
    m = 0.0f;
    if constexpr (std::is_same<Block, q8_0::block>::value) {
        for (int i = 0; i < 32; ++i) code[i] = b.qs[i];
        d = load_half(b.d);
    } else if constexpr (nibble_format<Block>::value) {
        using traits = nibble_format<Block>;
        int c[32];
        unpack_codes(b.qs, high_bits(b), c);
        for (int i = 0; i < 32; ++i) code[i] = static_cast<std::int8_t>(traits::has_min ? c[i] : c[i] - traits::zero_point);
        d = load_half(b.d);
        if constexpr (traits::has_min) m = load_half(b.m);
    } else {
        int c[32];
        unpack_codes(b.qs, nullptr, c);
        for (int i = 0; i < 32; ++i) code[i] = Block::format::values[c[i]];
        d = Block::format::scale(b);
    }
}

/// The value formats attention_codes reads: the 32-value KV formats (kv_cache.hpp), whose values are
/// d * code + m with int8 codes.
template <class Block>
struct value_code_format
    : std::integral_constant<bool, std::is_same<Block, q8_0::block>::value || nibble_format<Block>::value ||
                                       std::is_same<Block, iq4_nl::block>::value> {};
template <class Block>
using if_value_code_format = std::enable_if_t<value_code_format<Block>::value, int>;

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
/// (none if lo[r] >= hi[r]); its raw scores are s[r * s_stride + t], and its state is max m[r] (-inf before its
/// first token), sum l[r] and output o + r * dim. For each row that sees tokens:
///   s_t = s_t * scale, mc = max s_t, m' = max(m, mc);
///   if m was -inf: l = 0, o = 0; else f = exp(m - m'), l = l * f, o_d = o_d * f;
///   p_t = exp(s_t - m') (kept in s), l = l + p_t in token order.
/// The chunk's values are then added by attention_values (f16 values) or attention_codes (quantized ones).
inline void attention_softmax(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                              const std::size_t* hi, float scale, std::size_t dim, float* m, float* l, float* o,
                              const scalar&) noexcept {
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
    }
}

/// o_d = fma(p_t, v_t,d, o_d) over row r's tokens [lo[r], hi[r]) in order, p_t = p[r * p_stride + t], the value of
/// token t at v + t * dim (floats). dim is a multiple of 16.
inline void attention_values(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                             const std::size_t* hi, const float* v, std::size_t dim, float* o, const scalar&) noexcept {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t t = lo[r]; t < hi[r]; ++t)
            for (std::size_t d = 0; d < dim; ++d) o[r * dim + d] = std::fma(p[r * p_stride + t], v[t * dim + d], o[r * dim + d]);
}

/// `tokens` value rows of `blocks_per_row` blocks each (contiguous) as codes: block k = t * blocks_per_row + j
/// (token t, block j of its row) gives codes[32 k .. 32 k + 32), d[j * stride + t] and, for the formats with a
/// min (Block::format::has_min), m[j * stride + t] (m is not written otherwise).
template <class Block, ref::if_value_code_format<Block> = 0>
inline void value_codes(const Block* x, std::size_t tokens, std::size_t blocks_per_row, std::int8_t* codes, float* d,
                        float* m, std::size_t stride, const scalar&) noexcept {
    for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t j = 0; j < blocks_per_row; ++j) {
            float dj, mj;
            ref::block_value_codes(x[t * blocks_per_row + j], codes + 32 * (t * blocks_per_row + j), dj, mj);
            d[j * stride + t] = dj;
            if constexpr (Block::format::has_min) m[j * stride + t] = mj;
        }
}

/// o += p v over quantized values given as codes (value_codes: token t's value d = block d of its row is
/// d[b * d_stride + t] * codes[t * dim + d] (+ mins[b * d_stride + t]), b = d / 32; mins null without a min), for
/// row r's tokens [lo[r], hi[r]), hi[r] <= value_codes_tokens. Per row and value block b, with the weights of
/// value_weights (w16 from p_t * d_t with step W; u16 from p_t * m_t with step M):
///   isum_d = sum over t of w16_t * code_t,d     (exact in int32; any order)
///   o_d = fma(W, float(isum_d), o_d);  with mins: msum = sum over t of u16_t, o_d = fma(M, float(msum), o_d).
/// Against o += p_t * v_t in float this adds at most (n - 1) / 65534 * max_t |d_t| * max_t |code_t,d| (and
/// likewise for m) per chunk of n tokens, relative to the chunk's largest p_t: below 0.001 of the largest value.
inline void attention_codes(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o, const scalar&) noexcept {
    std::int16_t w[ref::value_codes_tokens];
    for (std::size_t r = 0; r < rows; ++r) {
        if (lo[r] >= hi[r]) continue;
        const float* pr = p + r * p_stride;
        for (std::size_t b = 0; b < dim / 32; ++b) {
            float* ob = o + r * dim + 32 * b;
            const float step = ref::value_weights(pr, d + b * d_stride, lo[r], hi[r], w);
            std::int32_t isum[32] = {};
            for (std::size_t t = lo[r]; t < hi[r]; ++t)
                for (std::size_t i = 0; i < 32; ++i) isum[i] += w[t] * codes[t * dim + 32 * b + i];
            for (std::size_t i = 0; i < 32; ++i) ob[i] = std::fma(step, static_cast<float>(isum[i]), ob[i]);
            if (mins) {
                const float min_step = ref::value_weights(pr, mins + b * d_stride, lo[r], hi[r], w);
                std::int32_t msum = 0;
                for (std::size_t t = lo[r]; t < hi[r]; ++t) msum += w[t];
                for (std::size_t i = 0; i < 32; ++i) ob[i] = std::fma(min_step, static_cast<float>(msum), ob[i]);
            }
        }
    }
}

}  // namespace arch
LOWBIT_NAMESPACE_END
