#pragma once
/// \file arch/neon/attention.hpp
/// NEON kernels of attention.hpp's steps (ref/attention.hpp), bit for bit the reference's: 4 lanes run the
/// reference's float operations for 4 values at once, and attention_codes' exact integer sums come from smlal by
/// lane (4 rows' int16 weights of a token in one register). Every NEON backend uses them.
#include "../../ref/attention.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"
#include "q8.hpp"

#include <arm_neon.h>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace neon_impl {

/// ref::softmax_exp on 4 lanes.
LOWBIT_INLINE float32x4_t softmax_exp4(float32x4_t x) noexcept {
    const float32x4_t magic = vdupq_n_f32(12582912.0f), floor = vdupq_n_f32(-87.0f);
    const uint32x4_t above = vcgtq_f32(x, floor);
    const float32x4_t xc = vbslq_f32(above, x, floor);  // x > -87 ? x : -87, NaN included, as the reference
    const float32x4_t k = vsubq_f32(vfmaq_f32(magic, xc, vdupq_n_f32(1.44269504f)), magic);
    const float32x4_t r = vfmaq_f32(vfmaq_f32(xc, k, vdupq_n_f32(-0.693145752f)), k, vdupq_n_f32(-1.42860677e-6f));
    float32x4_t p = vdupq_n_f32(1.0f / 720);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(k), vdupq_n_s32(127)), 23);
    const float32x4_t e = vmulq_f32(p, vreinterpretq_f32_s32(bits));
    // 0 where x < -87 (not where x is NaN, as the reference)
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(e), vcltq_f32(x, floor)));
}

/// ref::softmax_step_by's and ref::accumulate_values_by's operations on 4 lanes.
struct attention_ops {
    static void rescale(float* o, std::size_t dim, float f) noexcept {
        for (std::size_t d = 0; d < dim; d += 4) vst1q_f32(o + d, vmulq_n_f32(vld1q_f32(o + d), f));
    }
    static void exps(float* s, std::size_t a, std::size_t b, float m) noexcept {
        const float32x4_t m4 = vdupq_n_f32(m);
        std::size_t t = a;
        for (; t + 4 <= b; t += 4) vst1q_f32(s + t, softmax_exp4(vsubq_f32(vld1q_f32(s + t), m4)));
        for (; t < b; ++t) s[t] = ref::softmax_exp(s[t] - m);
    }
    template <int R>
    static LOWBIT_INLINE void accumulate(const float* const* p, const float* v, std::size_t dim, std::size_t a,
                                         std::size_t b, float* const* o, std::size_t d0) noexcept {
        using detail::unroll;
        float32x4_t acc[R][4];
        unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
            unroll<4>([&](auto i) LOWBIT_INLINE_LAMBDA { acc[r][i] = vld1q_f32(o[r] + d0 + 4 * i); });
        });
        for (std::size_t t = a; t < b; ++t) {
            float32x4_t vt[4];
            unroll<4>([&](auto i) LOWBIT_INLINE_LAMBDA { vt[i] = vld1q_f32(v + t * dim + d0 + 4 * i); });
            unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
                const float32x4_t pr = vdupq_n_f32(p[r][t]);
                unroll<4>([&](auto i) LOWBIT_INLINE_LAMBDA { acc[r][i] = vfmaq_f32(acc[r][i], pr, vt[i]); });
            });
        }
        unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
            unroll<4>([&](auto i) LOWBIT_INLINE_LAMBDA { vst1q_f32(o[r] + d0 + 4 * i, acc[r][i]); });
        });
    }
};

/// ref::value_weights of R rows (probabilities pm[i], 0 outside the row's tokens) for the tokens [g0, g1) (multiples
/// of 4, g1 <= ref::value_codes_tokens), stored token-major: wt[4 t + i] is row i's weight of token t (0 for
/// i >= R), so one load gives a token's weights for all rows. Where pm is 0 the weight is 0 whatever x holds.
template <int R>
LOWBIT_INLINE void code_weights(const float* const* pm, const float* x, std::size_t g0, std::size_t g1,
                                std::int16_t* wt, float* step) noexcept {
    constexpr std::size_t n = ref::value_codes_tokens;
    float wf[R][n];
    float32x4_t inverse[R];
    for (int r = 0; r < R; ++r) {
        float32x4_t amax = vdupq_n_f32(0x1p-100f);
        for (std::size_t g = g0; g < g1; g += 4) {
            const float32x4_t p4 = vld1q_f32(pm[r] + g);
            const float32x4_t v = vreinterpretq_f32_u32(
                vbicq_u32(vreinterpretq_u32_f32(vmulq_f32(p4, vld1q_f32(x + g))), vceqzq_f32(p4)));
            vst1q_f32(wf[r] + g, v);
            amax = vmaxq_f32(amax, vabsq_f32(v));
        }
        const float a = vmaxvq_f32(amax);
        inverse[r] = vdupq_n_f32(32767.0f / a);
        step[r] = a / 32767.0f;
    }
    for (std::size_t g = g0; g < g1; g += 4) {
        int16x4x4_t q;
        q.val[0] = q.val[1] = q.val[2] = q.val[3] = vdup_n_s16(0);
        for (int r = 0; r < R; ++r) q.val[r] = vqmovn_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(wf[r] + g), inverse[r])));
        vst4_s16(wt + 4 * g, q);
    }
}

/// attention_codes for R rows (row i: probabilities pm[i], 0 outside its tokens, and output o[i]) over the tokens
/// [u0, u1) that some of them see.
template <int R>
void codes_rows(const float* const* pm, std::size_t u0, std::size_t u1, const std::int8_t* codes, const float* d,
                const float* mins, std::size_t d_stride, std::size_t dim, float* const* o) noexcept {
    using detail::unroll;
    constexpr std::size_t n = ref::value_codes_tokens;
    alignas(16) std::int16_t wt[4 * n];
    const std::size_t g0 = u0 / 4 * 4, g1 = (u1 + 3) / 4 * 4;
    float step[R];
    for (std::size_t b = 0; b < dim / 32; ++b) {
        code_weights<R>(pm, d + b * d_stride, g0, g1, wt, step);
        for (std::size_t half = 0; half < 32; half += 16) {
            const std::size_t off = 32 * b + half;
            int32x4_t acc[R][4];
            unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
                unroll<4>([&](auto i) LOWBIT_INLINE_LAMBDA { acc[r][i] = vdupq_n_s32(0); });
            });
            for (std::size_t t = u0; t < u1; ++t) {
                const int8x16_t c = vld1q_s8(codes + t * dim + off);
                const int16x8_t lo = vmovl_s8(vget_low_s8(c)), hi = vmovl_high_s8(c);
                const int16x4_t w = vld1_s16(wt + 4 * t);
                unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
                    acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(lo), w, r);
                    acc[r][1] = vmlal_high_lane_s16(acc[r][1], lo, w, r);
                    acc[r][2] = vmlal_lane_s16(acc[r][2], vget_low_s16(hi), w, r);
                    acc[r][3] = vmlal_high_lane_s16(acc[r][3], hi, w, r);
                });
            }
            unroll<R>([&](auto r) LOWBIT_INLINE_LAMBDA {
                unroll<4>([&](auto i) LOWBIT_INLINE_LAMBDA {
                    float* y = o[r] + off + 4 * i;
                    vst1q_f32(y, vfmaq_f32(vld1q_f32(y), vdupq_n_f32(step[r]), vcvtq_f32_s32(acc[r][i])));
                });
            });
        }
        if (mins) {
            code_weights<R>(pm, mins + b * d_stride, g0, g1, wt, step);
            int32x4_t sum = vdupq_n_s32(0);  // lane i: row i's sum of weights
            for (std::size_t t = g0; t < g1; ++t) sum = vaddw_s16(sum, vld1_s16(wt + 4 * t));
            std::int32_t msum[4];
            vst1q_s32(msum, sum);
            for (int r = 0; r < R; ++r) {
                const float32x4_t s = vdupq_n_f32(step[r]), m = vdupq_n_f32(static_cast<float>(msum[r]));
                for (int i = 0; i < 32; i += 4) vst1q_f32(o[r] + 32 * b + i, vfmaq_f32(vld1q_f32(o[r] + 32 * b + i), s, m));
            }
        }
    }
}

/// attention_codes through ref::codes_in_row_groups.
struct codes_ops {
    const std::int8_t* codes;
    const float *d, *mins;
    std::size_t d_stride, dim;
    static void probabilities(const float* p, std::size_t lo, std::size_t hi, float* pm) noexcept {
        for (std::size_t t = 0; t < ref::value_codes_tokens; ++t) pm[t] = t >= lo && t < hi ? p[t] : 0.0f;
    }
    template <int R>
    void rows(const float* const* pm, std::size_t u0, std::size_t u1, float* const* o) const noexcept {
        codes_rows<R>(pm, u0, u1, codes, d, mins, d_stride, dim, o);
    }
};

}  // namespace neon_impl

inline void half_to_float(const half_bytes* x, float* y, std::size_t n, const neon&) noexcept {
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const std::uint16_t*>(x + i)))));
    half_to_float(x + i, y + i, n - i, scalar{});
}

inline void float_scores(const float* q, std::size_t rows, const float* k, std::size_t tokens, std::size_t dim,
                         float* s, std::size_t s_stride, const neon&) noexcept {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t t = 0; t < tokens; ++t) {
            const float* qr = q + r * dim;
            const float* kt = k + t * dim;
            float32x4_t lanes[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
            for (std::size_t i = 0; i < dim; i += 16)
                for (int j = 0; j < 4; ++j) lanes[j] = vfmaq_f32(lanes[j], vld1q_f32(qr + i + 4 * j), vld1q_f32(kt + i + 4 * j));
            const float32x4_t s4 = vaddq_f32(vaddq_f32(lanes[0], lanes[2]), vaddq_f32(lanes[1], lanes[3]));  // j + j+8 + ...
            // lanes j, j+8 then j, j+4: (l0 + l2) + (l1 + l3) is the reference's order for lanes 0-3 of 16.
            const float32x2_t s2 = vadd_f32(vget_low_f32(s4), vget_high_f32(s4));
            s[r * s_stride + t] = vget_lane_f32(s2, 0) + vget_lane_f32(s2, 1);
        }
}

inline void attention_softmax(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                              const std::size_t* hi, float scale, std::size_t dim, float* m, float* l, float* o,
                              const neon&) noexcept {
    ref::softmax_step_by<neon_impl::attention_ops>(s, s_stride, rows, lo, hi, scale, dim, m, l, o);
}

inline void attention_values(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                             const std::size_t* hi, const float* v, std::size_t dim, float* o, const neon&) noexcept {
    ref::accumulate_values_by<neon_impl::attention_ops>(p, p_stride, rows, lo, hi, v, dim, o);
}

template <class Block, ref::if_value_code_format<Block> = 0>
inline void value_codes(const Block* x, std::size_t tokens, std::size_t blocks_per_row, std::int8_t* codes, float* d,
                        float* m, std::size_t stride, const neon&) noexcept {
    using block_codes = neon_impl::codes<Block>;
    for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t j = 0; j < blocks_per_row; ++j) {
            const Block& b = x[t * blocks_per_row + j];
            vst1q_s8_x2(codes + 32 * (t * blocks_per_row + j), block_codes::load(b));
            d[j * stride + t] = block_codes::scale(b);
            if constexpr (Block::format::has_min) m[j * stride + t] = load_half(b.m);
        }
}

inline void attention_codes(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o, const neon&) noexcept {
    ref::codes_in_row_groups(p, p_stride, rows, lo, hi, dim, o, neon_impl::codes_ops{codes, d, mins, d_stride, dim});
}

}  // namespace arch
LOWBIT_NAMESPACE_END
