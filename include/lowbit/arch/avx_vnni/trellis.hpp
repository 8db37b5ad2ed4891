#pragma once
/// \file arch/avx_vnni/trellis.hpp
/// AVX-VNNI dot products and GEMM of tcq2 and tcq3: AVX2's (arch/x86/trellis.hpp) with vpdpbusd as the int8 dot,
/// and GEMM from byte_panel_batch rows through byte panels (arch/x86/byte_panel.hpp).
#include "../x86/trellis.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class Block, ref::if_trellis_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::trellis_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

template <class WFmt, ref::if_trellis_format<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx_vnni&) {
    x86_impl::byte_panel_rows<x86_impl::ymm_ops<x86_impl::dpbusd_dot>>(w, r0, r1, p.xq, out, x86_impl::trellis_decoder<x86_impl::dpbusd_dot, WFmt>{},
                                     [&] { x86_impl::trellis_rows<x86_impl::dpbusd_dot>(w, r0, r1, p.xq, out); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
