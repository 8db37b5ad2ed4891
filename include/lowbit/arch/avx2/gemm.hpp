#pragma once
/// \file arch/avx2/gemm.hpp
/// The AVX2 backend's GEMM entry points: make_panel (which the other x86 backends inherit), and gemm_rows over the
/// micro-kernels of arch/x86/gemm.hpp with vpmaddubsw as the int8 dot.
#include "../x86/gemm.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class WBlock, std::enable_if_t<x86_impl::ops<WBlock>::available, int> = 0>
matmul_panel<typename WBlock::format::activation> make_panel(
    const WBlock*, const_qmatrix_view<typename WBlock::format::activation> xq, const avx2&) {
    using AFmt = typename WBlock::format::activation;
    using L = packed_layout<typename WBlock::format>;
    // The zero point of the packed codes (the packed kernels' and AVX-512's plain tile16), else of the plain codes.
    constexpr int zero_point = [] {
        if constexpr (L::supported) return L::zero_point;
        else return x86_impl::ops<WBlock>::offset;
    }();
    const std::size_t nblocks = xq.blocks_per_row(), batch = xq.rows(), stride = (batch + 15) / 16 * 16;
    matmul_panel<AFmt> p{xq, stride, detail::scratch<float>(nblocks * stride, 0.0f), {},
                         detail::scratch<std::int32_t>(nblocks * stride, 0)};
    if constexpr (std::is_same<AFmt, q8_1>::value) p.s.assign(nblocks * stride, 0.0f);
    for (std::size_t c = 0; c < batch; ++c)
        for (std::size_t b = 0; b < nblocks; ++b) {
            const auto& a = xq.row(c)[b];
            p.d[b * stride + c] = load_half(a.d);
            if constexpr (std::is_same<AFmt, q8_1>::value) p.s[b * stride + c] = load_half(a.s);
            std::int32_t s = 0;
            for (std::int8_t q : a.qs) s += q;
            p.zero_point_sum[b * stride + c] = -zero_point * s;
        }
    return p;
}

template <class WFmt, std::enable_if_t<x86_impl::ops<typename WFmt::block>::available, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx2&) {
    x86_impl::plain_rows<x86_impl::maddubs_dot>(w, r0, r1, p, out);
}

template <class WFmt, std::enable_if_t<packed_layout<WFmt>::supported && !packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx2&) {
    x86_impl::packed_rows<x86_impl::maddubs_dot>(w, r0, r1, p, out);
}

/// The panel of every format with q8_K activations (K, codebook, trellis and ternary formats, iq4_xs) on the x86
/// backends (they inherit it): the activations, as a type of its own that selects the format's gemm_rows.
template <class WBlock, std::enable_if_t<std::is_same<typename WBlock::format::activation, q8_K>::value, int> = 0>
q8_K_panel make_panel(const WBlock*, const_qmatrix_view<q8_K> xq, const avx2&) {
    return {xq};
}

template <class WFmt, ref::if_kquant<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx2&) {
    x86_impl::kquant_rows<x86_impl::kdecoder_ymm<x86_impl::maddubs_dot>>(w, r0, r1, p, out);
}

template <class WFmt, std::enable_if_t<packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx2&) {
    kpacked_impl::rows<x86_impl::ymm_ops<x86_impl::maddubs_dot>>(w, r0, r1, p.xq, out);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
