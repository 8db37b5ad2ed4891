#pragma once
/// \file arch/avx2/ternary.hpp
/// AVX2 dot products and GEMM of tq1_0 and tq2_0 (arch/x86/ternary.hpp), which the AVX-512 backend without VNNI
/// inherits. Quantize and dequantize are the reference's.
#include "../x86/gemm.hpp"
#include "../x86/ternary.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The reference's result, bit for bit (see x86_impl::ternary_decoder).
template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx2&) noexcept {
    return decoded_dot_blocks(x86_impl::ternary_decoder<x86_impl::maddubs_dot>{}, w, a, nblocks);
}

/// GEMM: each row decoded once for the batch; every output is dot_blocks', bit for bit.
template <class WFmt, ref::if_ternary_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx2&) {
    decoded_rows(w, r0, r1, p.xq, out, x86_impl::ternary_decoder<x86_impl::maddubs_dot>{});
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
