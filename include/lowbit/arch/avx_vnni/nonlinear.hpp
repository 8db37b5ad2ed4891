#pragma once
/// \file arch/avx_vnni/nonlinear.hpp
/// AVX-VNNI dot products of iq4_nl, mxfp4 and iq4_xs, and iq4_xs's GEMM: AVX2's (arch/x86/nonlinear.hpp) with
/// vpdpbusd as the int8 dot, and from byte_panel_batch rows through byte panels (arch/x86/byte_panel.hpp).
/// Dequantize is AVX2's.
#include "../x86/gemm.hpp"
#include "../x86/nonlinear.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The same integer block sums and float steps as the AVX2 kernel, so the same result, bit for bit.
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_0::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::nonlinear_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return decoded_dot_blocks(x86_impl::iq4_xs_decoder<x86_impl::dpbusd_dot>{}, w, a, nblocks);
}

template <class WFmt, std::enable_if_t<std::is_same<WFmt, iq4_xs>::value, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx_vnni&) {
    const x86_impl::iq4_xs_decoder<x86_impl::dpbusd_dot> decoder{};
    x86_impl::byte_panel_rows<x86_impl::ymm_ops<x86_impl::dpbusd_dot>>(w, r0, r1, p.xq, out, decoder,
                                     [&] { decoded_rows(w, r0, r1, p.xq, out, decoder); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
