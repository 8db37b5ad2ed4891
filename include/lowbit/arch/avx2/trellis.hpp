#pragma once
/// \file arch/avx2/trellis.hpp
/// AVX2 dot products and GEMM of tcq2 and tcq3 (arch/x86/trellis.hpp), which the AVX-512 backend without VNNI
/// inherits. Quantize and dequantize are the reference's.
#include "../x86/trellis.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The reference's result, bit for bit (see x86_impl::trellis_dot_blocks).
template <class Block, ref::if_trellis_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx2&) noexcept {
    return x86_impl::trellis_dot_blocks<x86_impl::maddubs_dot>(w, a, nblocks);
}

template <class WFmt, ref::if_trellis_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx2&) {
    x86_impl::trellis_rows<x86_impl::maddubs_dot>(w, r0, r1, p.xq, out);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
