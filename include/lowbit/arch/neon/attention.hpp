#pragma once
/// \file arch/neon/attention.hpp
/// NEON kernels of attention.hpp's float steps (ref/attention.hpp), bit for bit the reference's: 4 lanes run the
/// reference's fmas for 4 values at once. Every NEON backend uses them.
#include "../../ref/attention.hpp"

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

/// ref::attention_chunk_by's operations on 4 lanes.
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

inline void attention_chunk(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, float scale, const float* v, std::size_t dim, float* m, float* l,
                            float* o, const neon&) noexcept {
    ref::attention_chunk_by<neon_impl::attention_ops>(s, s_stride, rows, lo, hi, scale, v, dim, m, l, o);
}

}  // namespace arch
LOWBIT_NAMESPACE_END
