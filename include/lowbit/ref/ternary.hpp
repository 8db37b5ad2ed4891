#pragma once
/// \file ref/ternary.hpp
/// Reference kernels for the ternary formats tq1_0 and tq2_0 (layouts in format/tq1_0.hpp and format/tq2_0.hpp):
/// 256 weights per super-block, each d * (code - 1) with code 0..2 (tq2_0's 2-bit fields can also hold 3), q8_K
/// activations. One code path; the formats differ only in how the codes are packed (Fmt::code).
#include "../format/tq1_0.hpp"
#include "../format/tq2_0.hpp"
#include "common.hpp"

#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

template <class Block>
struct ternary_format
    : std::integral_constant<bool, std::is_same<Block, tq1_0::block>::value || std::is_same<Block, tq2_0::block>::value> {};

template <class Block>
using if_ternary_format = std::enable_if_t<ternary_format<Block>::value, int>;

/// The 256 codes of a block, in weight order.
template <class Block>
inline void ternary_codes(const Block& b, int* code) noexcept {
    for (int i = 0; i < 256; ++i) code[i] = Block::format::code(b, i);
}

/// Packs 256 codes (0..2) into a block's code bytes (ggml's layouts; see the format files).
inline void pack_ternary(const int* q, tq2_0::block& b) noexcept {
    for (int n = 0; n < 2; ++n)
        for (int m = 0; m < 32; ++m) {
            int byte = 0;
            for (int k = 0; k < 4; ++k) byte |= q[128 * n + 32 * k + m] << (2 * k);
            b.qs[32 * n + m] = static_cast<std::uint8_t>(byte);
        }
}
inline void pack_ternary(const int* q, tq1_0::block& b) noexcept {
    // v = sum of t_n 3^(4 - n) (t_0 most significant), stored as ceil(v * 256 / 243).
    const auto store = [](const int* t, int count, int stride) {
        int v = 0;
        for (int n = 0; n < 5; ++n) v = 3 * v + (n < count ? t[n * stride] : 0);
        return static_cast<std::uint8_t>((v * 256 + 242) / 243);
    };
    for (int j = 0; j < 32; ++j) b.qs[j] = store(q + j, 5, 32);
    for (int j = 0; j < 16; ++j) b.qs[32 + j] = store(q + 160 + j, 5, 16);
    for (int j = 0; j < 4; ++j) b.qh[j] = store(q + 240 + j, 4, 4);
}

}  // namespace ref

/// As gguf: d = the largest |x|, stored as fp16; code = round-half-away(float(x * id)) + 1 with id = 1/d from the
/// float d (0 when not finite: an all-zero block, or one below about 2^-128, whose fp16 d is 0 anyway).
template <class Block, ref::if_ternary_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += qk_k) {
        const float d = ref::find_signed_absmax(x, qk_k).amax;
        const float id = ref::inverse_or_zero(d);
        int q[256];
        for (int i = 0; i < 256; ++i) q[i] = ref::round_half_away(x[i] * id) + 1;
        ref::pack_ternary(q, y[b]);
        store_half(y[b].d, d);
    }
}

/// x_i = d * (code_i - 1).
template <class Block, ref::if_ternary_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const float d = load_half(x[b].d);
        int code[256];
        ref::ternary_codes(x[b], code);
        for (int i = 0; i < 256; ++i) y[i] = d * static_cast<float>(code[i] - 1);
    }
}

/// With q8_K activations: sum over super-blocks, in order, of isum * (d_w * d_a), isum = int sum of
/// (code - 1) * q_a.
template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const scalar&) noexcept {
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int code[256];
        ref::ternary_codes(w[b], code);
        int isum = 0;
        for (int i = 0; i < 256; ++i) isum += (code[i] - 1) * a[b].qs[i];
        sum += detail::rounded(static_cast<float>(isum) * (load_half(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
