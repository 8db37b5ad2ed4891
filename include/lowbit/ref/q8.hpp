#pragma once
/// \file ref/q8.hpp
/// Reference kernels for the 8-bit formats q8_0 (weights and activations) and q8_1 (activations with a block
/// sum): the specification; layouts in format/q8_0.hpp and format/q8_1.hpp.
#include "../format/q8_0.hpp"
#include "../format/q8_1.hpp"
#include "common.hpp"

#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {
template <class Block>
using if_q8_format =
    std::enable_if_t<std::is_same<Block, q8_0::block>::value || std::is_same<Block, q8_1::block>::value, int>;
}

/// d = max|x| / 127 (float), id = 1/d (0 for an all-zero block), q = round-half-away(x * id); d stored as fp16.
/// q8_1 also stores s = fp16(float(sum of q) * d). The codes use the float d, not the fp16 one, as GGUF does.
template <class Block, ref::if_q8_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32) {
        const float d = ref::find_signed_absmax(x, 32).amax / 127.0f;
        const float id = ref::inverse_or_zero(d);
        int sum = 0;
        for (int j = 0; j < 32; ++j) {
            const int q = ref::round_half_away(x[j] * id);
            y[b].qs[j] = static_cast<std::int8_t>(q);
            sum += q;
        }
        store_half(y[b].d, d);
        if constexpr (std::is_same<Block, q8_1::block>::value) store_half(y[b].s, static_cast<float>(sum) * d);
    }
}

/// x_i = q_i * d.
template <class Block, ref::if_q8_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const float d = load_half(x[b].d);
        for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
}

/// q8_0 weights with q8_0 activations: sum over blocks of (int sum of q_w * q_a) * (d_w * d_a), in block order.
inline float dot_blocks(const q8_0::block* w, const q8_0::block* a, std::size_t nblocks, const scalar&) noexcept {
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int isum = 0;
        for (int j = 0; j < 32; ++j) isum += w[b].qs[j] * a[b].qs[j];
        sum += static_cast<float>(isum) * (load_half(w[b].d) * load_half(a[b].d));
    }
    return sum;
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
