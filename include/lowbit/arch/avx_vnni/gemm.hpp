#pragma once
/// \file arch/avx_vnni/gemm.hpp
/// The AVX-VNNI backend's gemm_rows: AVX2's micro-kernels (arch/x86/gemm.hpp) with vpdpbusd as the int8 dot, so
/// every output equals the AVX2 backend's, bit for bit (the nibble formats and iq4_nl and mxfp4 on plain rows).
/// make_panel is AVX2's; so is q8_0 on plain rows, whose signed x signed products take no int8 dot.
#include "../x86/gemm.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class WFmt, std::enable_if_t<ref::nibble_format<typename WFmt::block>::value ||
                                           ref::nonlinear_format<typename WFmt::block>::value, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx_vnni&) {
    x86_impl::plain_rows<x86_impl::dpbusd_dot>(w, r0, r1, p, out);
}

/// Packed q8_0 too: vpdpbusd takes its 8-bit codes whole (vpmaddubsw needs them split into 4-bit planes).
template <class WFmt, std::enable_if_t<packed_layout<WFmt>::supported && !packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx_vnni&) {
    x86_impl::packed_rows<x86_impl::dpbusd_dot>(w, r0, r1, p, out);
}

template <class WFmt, ref::if_kquant<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx_vnni&) {
    x86_impl::kquant_rows<x86_impl::kdecoder_ymm<x86_impl::dpbusd_dot>>(w, r0, r1, p, out);
}

template <class WFmt, std::enable_if_t<packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx_vnni&) {
    kpacked_impl::rows<x86_impl::ymm_ops<x86_impl::dpbusd_dot>>(w, r0, r1, p.xq, out);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
