#pragma once
/// \file arch/avx2/nonlinear.hpp
/// AVX2 kernels for iq4_nl and mxfp4 (dequantize and dot) and iq4_xs (dot and GEMM) (the table lookup, the dot driver
/// and iq4_xs's decoder are arch/x86/nonlinear.hpp's). Quantization is the reference's (weights are quantized once,
/// offline).
#include "../x86/gemm.hpp"
#include "../x86/nonlinear.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// x_i = d * values[code_i], one rounding, as the reference.
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const avx2&) noexcept {
    using namespace x86_impl;
    const __m256i table = value_table<typename Block::format>();
    for (std::size_t b = 0; b < nblocks; ++b, y += 32) {
        const fbatch d(Block::format::scale(x[b]));
        alignas(32) std::int8_t value[32];
        _mm256_store_si256(reinterpret_cast<__m256i*>(value), table_values(x[b], table));
        for (int i = 0; i < 4; ++i) (d * bytes_to_float<true>(value + 8 * i)).store_unaligned(y + 8 * i);
    }
}

/// With q8_0 activations: sum of isum * (d_w * d_a), 8 blocks per step (see x86_impl::dot_driver).
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_0::block* a, std::size_t nblocks, const avx2&) noexcept {
    return x86_impl::nonlinear_dot_blocks<x86_impl::maddubs_dot>(w, a, nblocks);
}

/// iq4_xs with q8_K: the reference's result, bit for bit (see x86_impl::iq4_xs_decoder).
inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const avx2&) noexcept {
    return decoded_dot_blocks(x86_impl::iq4_xs_decoder<x86_impl::maddubs_dot>{}, w, a, nblocks);
}

/// iq4_xs GEMM: each row decoded once for the batch; every output is dot_blocks', bit for bit.
template <class WFmt, std::enable_if_t<std::is_same<WFmt, iq4_xs>::value, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx2&) {
    decoded_rows(w, r0, r1, p.xq, out, x86_impl::iq4_xs_decoder<x86_impl::maddubs_dot>{});
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
