#pragma once
/// \file ref/linear32.hpp
/// Reference kernels for the nibble-packed 32-weight formats q4_0, q4_1, q5_0, q5_1 (the specification;
/// layouts in format/q4_0.hpp ... format/q5_1.hpp). They share one code path, parameterized by two facts:
/// the number of code bits (4, or 5 with the fifth bit in qh) and whether the block has a min (the _1 formats).
#include "../format/q4_0.hpp"
#include "../format/q4_1.hpp"
#include "../format/q5_0.hpp"
#include "../format/q5_1.hpp"
#include "common.hpp"

#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

/// The 32-value formats with 4- or 5-bit codes, and their codec facts (stated in their format files).
template <class Block, class = void>
struct nibble_format : std::false_type {};
template <class Block>
struct nibble_format<Block, std::enable_if_t<Block::format::block_size == 32 &&
                                              (Block::format::code_bits == 4 || Block::format::code_bits == 5)>>
    : std::true_type {
    static constexpr int bits = Block::format::code_bits, zero_point = Block::format::zero_point;
    static constexpr bool has_min = Block::format::has_min;
};

template <class Block>
using if_nibble_format = std::enable_if_t<nibble_format<Block>::value, int>;

template <class Block>
const std::uint8_t* high_bits(const Block& b) noexcept {
    if constexpr (nibble_format<Block>::bits == 5) return b.qh;
    else return nullptr;
}

}  // namespace ref

/// Symmetric (q4_0, q5_0), with Z = 8 or 16 the zero point:
///   m = the value of largest magnitude (the first on ties), d = m / -Z, id = 1/d (0 for an all-zero block),
///   code = min(2Z - 1, trunc(float(x * id) + (Z + 0.5))). The element equal to m gets code 0.
/// Asymmetric (q4_1, q5_1), with C = 15 or 31 the largest code:
///   d = (max - min) / C, id = 1/d (0 if d == 0), code = min(C, trunc(float((x - min) * id) + 0.5)).
/// d (and m = min) are stored as fp16; the codes use the float values, as GGUF does.
template <class Block, ref::if_nibble_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) noexcept {
    using traits = ref::nibble_format<Block>;
    constexpr int zero = traits::zero_point, max_code = (1 << traits::bits) - 1;
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        int code[32];
        if constexpr (traits::has_min) {
            float lo = x[0], hi = x[0];
            for (int j = 1; j < 32; ++j) {
                lo = x[j] < lo ? x[j] : lo;
                hi = x[j] > hi ? x[j] : hi;
            }
            const float d = (hi - lo) / static_cast<float>(max_code);
            const float id = ref::inverse_or_zero(d);
            for (int j = 0; j < 32; ++j) code[j] = ref::asymmetric_code(x[j], lo, id, max_code);
            store_half(y[b].d, d);
            store_half(y[b].m, lo);
        } else {
            const float d = ref::find_signed_absmax(x, 32).value / -static_cast<float>(zero);
            const float id = ref::inverse_or_zero(d);
            for (int j = 0; j < 32; ++j) code[j] = ref::symmetric_code(x[j], id, zero);
            store_half(y[b].d, d);
        }
        if constexpr (traits::bits == 5) ref::pack_high_bits(code, y[b].qh);
        ref::pack_nibbles(code, y[b].qs);
    }
}

/// Symmetric: x_i = d * (code_i - Z). Asymmetric: x_i = float(d * code_i) + m (rounded product, no FMA).
template <class Block, ref::if_nibble_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    using traits = ref::nibble_format<Block>;
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const float d = load_half(x[b].d);
        int code[32];
        ref::unpack_codes(x[b].qs, ref::high_bits(x[b]), code);
        if constexpr (traits::has_min) {
            const float m = load_half(x[b].m);
            for (int j = 0; j < 32; ++j) y[j] = detail::rounded(d * static_cast<float>(code[j])) + m;
        } else {
            for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(code[j] - traits::zero_point);
        }
    }
}

/// Symmetric, with q8_0 activations: sum over blocks of isum * (d_w * d_a), isum = int sum of (code - Z) * q_a.
/// Asymmetric, with q8_1 activations: sum of isum * (d_w * d_a) + m_w * s_a, isum = int sum of code * q_a.
/// Blocks are accumulated in order into one float.
template <class Block, ref::if_nibble_format<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const scalar&) noexcept {
    using traits = ref::nibble_format<Block>;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int code[32];
        ref::unpack_codes(w[b].qs, ref::high_bits(w[b]), code);
        int isum = 0;
        for (int j = 0; j < 32; ++j) isum += (code[j] - traits::zero_point) * a[b].qs[j];
        // Both products rounded before the addition, whatever -ffp-contract says: the reference is one function.
        float term = detail::rounded(static_cast<float>(isum) * (load_half(w[b].d) * load_half(a[b].d)));
        if constexpr (traits::has_min) term += detail::rounded(load_half(w[b].m) * load_half(a[b].s));
        sum += term;
    }
    return sum;
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
