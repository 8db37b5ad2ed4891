#pragma once
/// \file ref/nonlinear.hpp
/// Reference kernels for the non-linear 4-bit formats iq4_nl and mxfp4 (layouts in format/iq4_nl.hpp and
/// format/mxfp4.hpp): 32 weights per block, each a 4-bit code into the format's table of 16 int8 values, times
/// the block's scale (fp16 for iq4_nl, a power of two for mxfp4). Activations are q8_0. One code path for both;
/// the formats differ only in how the scale is chosen and stored. And iq4_xs (format/iq4_xs.hpp): iq4_nl's codes
/// in 256-weight super-blocks with 6-bit sub-block scales, q8_K activations.
#include "../format/iq4_nl.hpp"
#include "../format/iq4_xs.hpp"
#include "../format/mxfp4.hpp"
#include "kquant.hpp"
#include "common.hpp"

#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

template <class Block>
struct nonlinear_format
    : std::integral_constant<bool, std::is_same<Block, iq4_nl::block>::value || std::is_same<Block, mxfp4::block>::value> {};

template <class Block>
using if_nonlinear_format = std::enable_if_t<nonlinear_format<Block>::value, int>;

/// Index of the entry of an ascending table nearest to v: the number of midpoints between neighbours that are
/// <= v (a tie goes to the larger entry, as ggml's best_index_int8). The midpoints are halves of integers, exact
/// in float; NaN gives 0.
template <std::size_t N>
inline int nearest_ascending(const std::int8_t (&values)[N], float v) noexcept {
    int index = 0;
    for (std::size_t k = 0; k + 1 < N; ++k) index += v >= 0.5f * static_cast<float>(values[k] + values[k + 1]);
    return index;
}

/// mxfp4's code for x under scale d: the first index k of the least |values[k] * d - x| in float, as gguf's
/// quantize (numpy's argmin) and ggml's best_index_mxfp4. Ties go to the smaller magnitude, and 0 to code 0.
inline int nearest_mxfp4(float x, float d) noexcept {
    int best = 0;
    float best_err = std::fabs(static_cast<float>(mxfp4::values[0]) * d - x);
    for (int k = 1; k < 16; ++k) {
        const float err = std::fabs(static_cast<float>(mxfp4::values[k]) * d - x);
        if (err < best_err) {
            best = k;
            best_err = err;
        }
    }
    return best;
}

/// mxfp4's shared exponent for a block whose largest |x| is amax (finite): e = floor(log2(amax)) - 2 + 127,
/// so that amax / d lies in [8, 16) (d = 2^(e - 128); the largest value, 12, is 6 * 2 as E2M1's 6 doubled), or 0
/// for an all-zero block. floor(log2) is read exactly from the float's bits; ggml and gguf take it from log2f,
/// which rounds up to the next integer for amax within a few ulps below a power of two >= 8 (they then write
/// e + 1). A block too small for the smallest scale 2^-128 (amax < 2^-125) gets e = 0 (ggml's cast to uint8
/// wraps there).
inline std::uint8_t mxfp4_exponent(float amax) noexcept {
    if (!(amax > 0.0f)) return 0;
    const std::uint32_t bits = float_to_bits(amax);
    // A normal float's exponent field; a subnormal m * 2^-149 has floor(log2) = (31 - clz(m)) - 149.
    const int log2_floor = (bits >> 23) != 0 ? static_cast<int>(bits >> 23) - 127 : -118 - __builtin_clz(bits);
    const int e = log2_floor - 2 + 127;
    return static_cast<std::uint8_t>(e < 0 ? 0 : e);
}

/// The 32 codes of a block (qs nibbles in weight order) as table values.
template <class Block>
inline void block_values(const Block& b, int* value) noexcept {
    int code[32];
    unpack_codes(b.qs, nullptr, code);
    for (int j = 0; j < 32; ++j) value[j] = Block::format::values[code[j]];
}

}  // namespace ref

/// iq4_nl: m = the value of largest magnitude (the first on ties), d = m / -127 stored as fp16 (so m is the
/// table's end, -127), then each code is the nearest table value to float(x * id) with id = 1 / the stored d
/// (0 if not finite; ties to the larger value).
/// mxfp4: e from the largest |x| (ref::mxfp4_exponent), then each code the nearest value under d = 2^(e - 128)
/// (ref::nearest_mxfp4): gguf's bytes (apart from its log2f rounding, see mxfp4_exponent).
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) noexcept {
    using Fmt = typename Block::format;
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        int code[32];
        if constexpr (std::is_same<Fmt, iq4_nl>::value) {
            store_half(y[b].d, ref::find_signed_absmax(x, 32).value / -127.0f);
            const float id = ref::inverse_or_zero(load_half(y[b].d));
            for (int j = 0; j < 32; ++j) code[j] = ref::nearest_ascending(Fmt::values, x[j] * id);
        } else {
            y[b].e = ref::mxfp4_exponent(ref::find_signed_absmax(x, 32).amax);
            const float d = Fmt::scale(y[b]);
            for (int j = 0; j < 32; ++j) code[j] = ref::nearest_mxfp4(x[j], d);
        }
        ref::pack_nibbles(code, y[b].qs);
    }
}

/// x_i = d * values[code_i] (one rounding; exact for mxfp4, whose d is a power of two).
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const float d = Block::format::scale(x[b]);
        int value[32];
        ref::block_values(x[b], value);
        for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(value[j]);
    }
}

/// With q8_0 activations: sum over blocks, in order, of isum * (d_w * d_a), isum = int sum of values[code] * q_a.
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_0::block* a, std::size_t nblocks, const scalar&) noexcept {
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int value[32];
        ref::block_values(w[b], value);
        int isum = 0;
        for (int j = 0; j < 32; ++j) isum += value[j] * a[b].qs[j];
        sum += detail::rounded(static_cast<float>(isum) * (Block::format::scale(w[b]) * load_half(a[b].d)));
    }
    return sum;
}

// ---- iq4_xs ----

namespace ref {

/// iq4_xs's codes of the 32 values of one sub-block under the float sub-block scale dl: nearest table value to
/// float(x * 1/dl) (0 if 1/dl is not finite), into 16 bytes as iq4_nl.
inline void iq4_xs_sub_block(const float* x, float dl, std::uint8_t* qs) noexcept {
    const float id = inverse_or_zero(dl);
    int code[32];
    for (int j = 0; j < 32; ++j) code[j] = nearest_ascending(iq4_nl::values, x[j] * id);
    pack_nibbles(code, qs);
}

/// Writes an iq4_xs block from its fp16-stored super-block scale d and integer sub-block scales l (-32..31),
/// every code the nearest under float(d * l).
inline void assemble_iq4_xs(const float* x, float d, const int (&l)[8], iq4_xs::block& y) noexcept {
    store_half(y.d, d);
    const float dh = load_half(y.d);
    iq4_xs::set_sub_scales(y, l);
    for (int s = 0; s < 8; ++s) iq4_xs_sub_block(x + 32 * s, dh * static_cast<float>(l[s]), y.qs + 16 * s);
}

}  // namespace ref

/// Each sub-block's scale s_b = m_b / -127 (m_b its value of largest magnitude, the first on ties); d = S / -32
/// with S the s_b of largest magnitude (the first on ties), stored as fp16; l_b = nearest(s_b / d) (ties to even)
/// in -32..31 with 1 / the stored d (0 if not finite); then every code the nearest under float(d * l_b), as iq4_nl.
inline void quantize_blocks(const float* x, iq4_xs::block* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += qk_k) {
        float s[8];
        for (int k = 0; k < 8; ++k) s[k] = ref::find_signed_absmax(x + 32 * k, 32).value / -127.0f;
        const float big = ref::find_signed_absmax(s, 8).value;
        store_half(y[b].d, big / -32.0f);
        const float id = ref::inverse_or_zero(load_half(y[b].d));
        int l[8];
        for (int k = 0; k < 8; ++k) l[k] = ref::nearest_clamped(s[k] * id, -32, 31);
        ref::assemble_iq4_xs(x, load_half(y[b].d), l, y[b]);
    }
}

/// x_i = float(d * l_s) * values[code_i], as gguf.
inline void dequantize_blocks(const iq4_xs::block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b) {
        const float d = load_half(x[b].d);
        for (int s = 0; s < 8; ++s, y += 32) {
            const float dl = d * static_cast<float>(iq4_xs::sub_scale(x[b], s));
            int code[32];
            ref::unpack_codes(x[b].qs + 16 * s, nullptr, code);
            for (int j = 0; j < 32; ++j) y[j] = dl * static_cast<float>(iq4_nl::values[code[j]]);
        }
    }
}

/// With q8_K activations: sum over super-blocks, in order, of isum * (d_w * d_a), isum = the exact integer
/// sum over sub-blocks of l_s * (sum of values[code] * q_a); |isum| <= 8 * 32 * 32 * 127 * 128 < 2^31.
inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const scalar&) noexcept {
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int isum = 0;
        for (int s = 0; s < 8; ++s) {
            int code[32];
            ref::unpack_codes(w[b].qs + 16 * s, nullptr, code);
            int sub = 0;
            for (int j = 0; j < 32; ++j) sub += iq4_nl::values[code[j]] * a[b].qs[32 * s + j];
            isum += iq4_xs::sub_scale(w[b], s) * sub;
        }
        sum += detail::rounded(static_cast<float>(isum) * (load_half(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
