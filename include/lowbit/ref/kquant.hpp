#pragma once
/// \file ref/kquant.hpp
/// Reference kernels for the K-quants q2_K, q3_K, q4_K, q5_K, q6_K and their activation format q8_K (the
/// specification; layouts in format/q2_K.hpp ... format/q8_K.hpp).
///
/// The five weight formats share one code path. A K block is described by its traits (ref::kquant<Block>):
/// unsigned codes u_i in 0..2^bits - 1, sub-blocks of 16 or 32 weights with integer scales sc_s (and, for
/// q2_K, q4_K and q5_K, integer mins m_s), and the fp16 super-block scales d (and dmin). Weight i of sub-block s:
///   with a min:    float(float(d * sc_s) * u_i) - float(dmin * m_s)      (q2_K, q4_K, q5_K)
///   symmetric:     float(d * sc_s) * (u_i - Z)                           (q3_K: Z = 4, q6_K: Z = 32)
/// which is exactly what the gguf package (gguf-py quants.py) computes, in float32, without FMA.
#include "../format/q2_K.hpp"
#include "../format/q3_K.hpp"
#include "../format/q4_K.hpp"
#include "../format/q5_K.hpp"
#include "../format/q6_K.hpp"
#include "../format/q8_K.hpp"
#include "common.hpp"

#include <cstring>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

/// The facts of each K format's codec, stated in its format file (format/q2_K.hpp ...) and read here under the
/// names the kernels use: bits, sub (weights per sub-block), has_min, zero (Z, symmetric formats), scale_lo /
/// scale_hi (range of sc_s), min_hi (range 0..min_hi of m_s), code(b, i), put_code(b, i, u) (on a zeroed block),
/// get_scales(b, sc, m), put_scales(sc, m, b).
template <class Block, class = void>
struct kquant : std::false_type {};
template <class Block>
struct kquant<Block, std::void_t<decltype(Block::format::sub_block)>> : std::true_type {
    using block = Block;
    using format = typename Block::format;
    static constexpr int bits = format::code_bits, sub = format::sub_block, zero = format::zero_point;
    static constexpr int scale_lo = format::scale_lo, scale_hi = format::scale_hi, min_hi = format::min_hi;
    static constexpr bool has_min = format::has_min;
    static int code(const block& b, int i) noexcept { return format::code(b, i); }
    static void codes(const block& b, std::uint8_t* u) noexcept { format::codes(b, u); }
    static void put_code(block& b, int i, int u) noexcept { format::put_code(b, i, u); }
    static void get_scales(const block& b, int* sc, int* m) noexcept { format::get_scales(b, sc, m); }
    static void put_scales(const int* sc, const int* m, block& b) noexcept { format::put_scales(sc, m, b); }
};

template <class Block>
using if_kquant = std::enable_if_t<kquant<Block>::value, int>;

/// Sub-blocks per super-block.
template <class Block>
constexpr int sub_blocks = static_cast<int>(qk_k) / kquant<Block>::sub;

/// The super-block min scale (0 for the symmetric formats, which have none).
template <class Block>
float load_dmin(const Block& b) noexcept {
    if constexpr (kquant<Block>::has_min) return load_half(b.dmin);
    else return 0.0f;
}
template <class Block>
void store_dmin([[maybe_unused]] Block& b, [[maybe_unused]] float dmin) noexcept {
    if constexpr (kquant<Block>::has_min) store_half(b.dmin, dmin);
}

/// Nearest integer to v (ties to even) clamped to [lo, hi]; v may be any finite float or +-Inf.
inline int nearest_clamped(float v, int lo, int hi) noexcept {
    if (!(v > static_cast<float>(lo))) return lo;  // NaN too
    if (v >= static_cast<float>(hi)) return hi;
    return static_cast<int>(std::nearbyint(v));
}

/// Writes a K block from its super-block scales (stored as fp16), integer sub-block scales and mins, and
/// unsigned codes; the block need not be zeroed.
template <class Block>
void assemble_kblock(float d, float dmin, const int* sc, const int* m, const std::uint8_t* u, Block& b) noexcept {
    using traits = kquant<Block>;
    b = Block{};
    store_half(b.d, d);
    store_dmin(b, dmin);
    traits::put_scales(sc, m, b);
    for (int i = 0; i < static_cast<int>(qk_k); ++i) traits::put_code(b, i, u[i]);
}

/// Codes of a K block for given stored super-block scales and integer sub-block scales: the nearest code to
/// each weight under the dequantization rule, computed as nearest((x + ml) / dl) (with a min) or
/// nearest(x / dl) + Z (symmetric), clamped, with dl = float(d * sc_s), ml = float(dmin * m_s). A sub-block
/// with dl == 0 gets code 0 (with a min) or Z (symmetric). No product here is added to anything, so the
/// result does not depend on FMA contraction.
template <class Block>
void nearest_codes(const float* x, float d, float dmin, const int* sc, const int* m, std::uint8_t* u) noexcept {
    using traits = kquant<Block>;
    constexpr int max_code = (1 << traits::bits) - 1;
    for (int s = 0; s < sub_blocks<Block>; ++s) {
        const float dl = d * static_cast<float>(sc[s]);
        const float id = inverse_or_zero(dl);
        const float ml = traits::has_min ? dmin * static_cast<float>(m[s]) : 0.0f;
        for (int j = s * traits::sub; j < (s + 1) * traits::sub; ++j) {
            const int q = traits::has_min ? nearest_clamped((x[j] + ml) * id, 0, max_code)
                                          : nearest_clamped(x[j] * id, -traits::zero, max_code - traits::zero) +
                                                traits::zero;
            u[j] = static_cast<std::uint8_t>(q);
        }
    }
}

/// The 256 values of a K block from its unpacked fields (d and dmin as stored): the dequantization rule.
template <class Block>
void dequantize_codes(float d, float dmin, const int* sc, const int* m, const std::uint8_t* u, float* y) noexcept {
    using traits = kquant<Block>;
    for (int s = 0; s < sub_blocks<Block>; ++s) {
        const float dl = d * static_cast<float>(sc[s]);
        const float ml = dmin * static_cast<float>(m[s]);
        for (int j = s * traits::sub; j < (s + 1) * traits::sub; ++j) {
            if constexpr (traits::has_min) y[j] = detail::rounded(dl * static_cast<float>(u[j])) - ml;
            else y[j] = dl * static_cast<float>(u[j] - traits::zero);
        }
    }
}

}  // namespace ref

/// Round-to-nearest baseline (valid blocks; not byte-identical to ggml's quantizer, which searches):
///   with a min (Q = 2^bits - 1, M = largest sub-block scale code, 15 or 63):
///     per sub-block lo = min(0, min x), scale_s = (max x - lo) / Q, min_s = -lo;
///     d = max_s scale_s / M, dmin = max_s min_s / M (stored fp16), sc_s = nearest(scale_s / d),
///     m_s = nearest(min_s / dmin) clamped to 0..M (0 where d or dmin is 0);
///   symmetric (Z = 4 or 32; sub-scale codes in scale_lo..scale_hi = -32..31 or -128..127):
///     per sub-block scale_s = (signed value of largest |x|) / -Z, so that value gets code 0;
///     d = (the scale_s of largest magnitude) / scale_lo, sc_s = nearest(scale_s / d) clamped;
///   then every code is the nearest under the stored scales (ref::nearest_codes). Ties round to even.
template <class Block, ref::if_kquant<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) noexcept {
    using traits = ref::kquant<Block>;
    constexpr int nsub = ref::sub_blocks<Block>;
    for (std::size_t b = 0; b < nblocks; ++b, x += qk_k) {
        float scale[nsub], min[nsub] = {};
        for (int s = 0; s < nsub; ++s) {
            const float* xs = x + s * traits::sub;
            if constexpr (traits::has_min) {
                float lo = 0.0f, hi = xs[0];
                for (int j = 0; j < traits::sub; ++j) {
                    lo = xs[j] < lo ? xs[j] : lo;
                    hi = xs[j] > hi ? xs[j] : hi;
                }
                scale[s] = (hi - lo) / static_cast<float>((1 << traits::bits) - 1);
                min[s] = -lo;
            } else {
                scale[s] = ref::find_signed_absmax(xs, traits::sub).value / -static_cast<float>(traits::zero);
            }
        }
        float d, dmin = 0.0f;
        if constexpr (traits::has_min) {
            float smax = 0.0f, mmax = 0.0f;
            for (int s = 0; s < nsub; ++s) {
                smax = scale[s] > smax ? scale[s] : smax;
                mmax = min[s] > mmax ? min[s] : mmax;
            }
            d = smax / static_cast<float>(traits::scale_hi);
            dmin = mmax / static_cast<float>(traits::min_hi);
        } else {
            d = ref::find_signed_absmax(scale, nsub).value / static_cast<float>(traits::scale_lo);
        }
        const float dh = fp16_to_fp32(fp32_to_fp16(d)), dminh = fp16_to_fp32(fp32_to_fp16(dmin));
        const float id = ref::inverse_or_zero(dh), idmin = ref::inverse_or_zero(dminh);
        int sc[nsub], m[nsub] = {};
        for (int s = 0; s < nsub; ++s) {
            sc[s] = ref::nearest_clamped(scale[s] * id, traits::scale_lo, traits::scale_hi);
            if constexpr (traits::has_min) m[s] = ref::nearest_clamped(min[s] * idmin, 0, traits::min_hi);
        }
        std::uint8_t u[qk_k];
        ref::nearest_codes<Block>(x, dh, dminh, sc, m, u);
        ref::assemble_kblock(dh, dminh, sc, m, u, y[b]);
    }
}

/// Exactly the gguf package's dequantization (see the file comment).
template <class Block, ref::if_kquant<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    using traits = ref::kquant<Block>;
    constexpr int nsub = ref::sub_blocks<Block>;
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        int sc[nsub], m[nsub] = {};
        traits::get_scales(x[b], sc, m);
        std::uint8_t u[qk_k] = {};
        traits::codes(x[b], u);
        ref::dequantize_codes<Block>(load_half(x[b].d), ref::load_dmin(x[b]), sc, m, u, y);
    }
}

/// K weights with q8_K activations. Per block, all in exact integer arithmetic with bsums_s the q8_K group sums
/// of sub-block s (one 16-value group, or two for 32-weight sub-blocks):
///   isum = sum_s sc_s * (sum_{i in s} u_i * a_i - Z * bsums_s)      (Z = 0 for the formats with a min)
///   msum = sum_s m_s * bsums_s                                      (formats with a min; 0 otherwise)
/// then term = (d * d_a) * float(isum) - (dmin * d_a) * float(msum), and the terms are added in block order
/// into one float. The offsets and mins use the stored bsums, so they must be the sums of qs (as q8_K's
/// quantize_blocks writes them).
template <class Block, ref::if_kquant<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const scalar&) noexcept {
    using traits = ref::kquant<Block>;
    constexpr int nsub = ref::sub_blocks<Block>, groups = traits::sub / 16;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int sc[nsub], m[nsub] = {};
        traits::get_scales(w[b], sc, m);
        int isum = 0, msum = 0;
        for (int s = 0; s < nsub; ++s) {
            int bsum = 0;
            for (int g = 0; g < groups; ++g) bsum += a[b].bsums[s * groups + g].value();
            int dot = 0;
            for (int j = s * traits::sub; j < (s + 1) * traits::sub; ++j) dot += traits::code(w[b], j) * a[b].qs[j];
            isum += sc[s] * (dot - traits::zero * bsum);
            msum += m[s] * bsum;
        }
        const float da = a[b].d.value();
        // Both products rounded before the subtraction, whatever -ffp-contract says: the reference is one function.
        float term = detail::rounded((load_half(w[b].d) * da) * static_cast<float>(isum));
        if constexpr (traits::has_min) term -= detail::rounded((load_half(w[b].dmin) * da) * static_cast<float>(msum));
        sum += term;
    }
    return sum;
}

/// q8_K, as ggml's quantize_row_q8_K_ref: m = the value of largest |x| (the first on ties), iscale = -127 / m,
/// q = min(127, nearest(iscale * x)) (ties to even), d = 1 / iscale (float32), bsums the 16-value sums of q.
/// An all-zero block gets d = 0 and zero codes and sums.
inline void quantize_blocks(const float* x, q8_K::block* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += qk_k) {
        const float max = ref::find_signed_absmax(x, qk_k).value;
        const float iscale = max != 0.0f ? -127.0f / max : 0.0f;
        for (std::size_t j = 0; j < qk_k; ++j)
            y[b].qs[j] = static_cast<std::int8_t>(ref::nearest_clamped(iscale * x[j], -128, 127));
        q8_K::fill_bsums(y[b]);
        y[b].d.set(max != 0.0f ? 1.0f / iscale : 0.0f);
    }
}

/// x_i = d * q_i.
inline void dequantize_blocks(const q8_K::block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const float d = x[b].d.value();
        for (std::size_t j = 0; j < qk_k; ++j) y[j] = d * static_cast<float>(x[b].qs[j]);
    }
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
