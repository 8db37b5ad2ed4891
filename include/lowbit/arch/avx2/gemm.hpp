#pragma once
/// \file arch/avx2/gemm.hpp
/// The AVX2 backend's GEMM entry points (make_panel, gemm_rows) over the x86 micro-kernels of arch/x86/gemm.hpp.
#include "../x86/gemm.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class WBlock, std::enable_if_t<x86_impl::ops<WBlock>::available, int> = 0>
matmul_panel<typename WBlock::format::activation> make_panel(
    const WBlock*, const_qmatrix_view<typename WBlock::format::activation> xq, const avx2&) {
    using AFmt = typename WBlock::format::activation;
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
            p.zero_point_sum[b * stride + c] = -packed_layout<typename WBlock::format>::zero_point * s;
        }
    return p;
}

template <class WFmt, std::enable_if_t<x86_impl::ops<typename WFmt::block>::available, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx2&) {
    using WBlock = typename WFmt::block;
    using O = x86_impl::ops<WBlock>;
    if (r0 >= r1) return;
    const std::size_t batch = p.xq.rows();
    if (batch == 1) {  // GEMV: 8 weight rows per tile
        float acc[8];
        for (std::size_t rt = r0; rt < r1; rt += 8) x86_impl::row_tile<WBlock, 8, 1>(w, rt, r1 - 1, p, acc, out);
        return;
    }
    detail::scratch<float> acc(8 * ((batch + O::tile_cols - 1) / O::tile_cols));
    for (std::size_t rt = r0; rt < r1; rt += O::tile_rows)
        x86_impl::row_tile<WBlock, O::tile_rows, O::tile_cols>(w, rt, r1 - 1, p, acc.data(), out);
}

/// Packed weights: GEMV takes a whole panel (16 rows) per pass, so the weights are read once, in order; GEMM takes
/// 8 rows x 4 (then 1) activation rows per tile.
template <class WFmt, std::enable_if_t<packed_layout<WFmt>::supported, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx2&) {
    constexpr std::size_t rows = packed_layout<WFmt>::rows;
    const std::size_t batch = p.xq.rows();
    for (std::size_t pi = r0 / rows; pi * rows < r1; ++pi) {
        if (batch == 1) {
            x86_impl::packed_tile<WFmt, 0, 2, 1, true>(w, pi, 0, r0, r1, p, out);
            continue;
        }
        x86_impl::unroll<2>([&](auto h) {
            constexpr int half = decltype(h)::value;
            std::size_t c0 = 0;
            for (; c0 + 4 <= batch; c0 += 4) x86_impl::packed_tile<WFmt, half, 1, 4, false>(w, pi, c0, r0, r1, p, out);
            for (; c0 < batch; ++c0) x86_impl::packed_tile<WFmt, half, 1, 1, false>(w, pi, c0, r0, r1, p, out);
        });
    }
}

template <class WBlock, ref::if_kquant<WBlock> = 0>
kquant_panel make_panel(const WBlock*, const_qmatrix_view<q8_K> xq, const avx2&) {
    return {xq};
}

template <class WFmt, ref::if_kquant<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const kquant_panel& p,
               const matmul_output& out, const avx2&) {
    x86_impl::kquant_rows<x86_impl::kdecoder_avx2>(w, r0, r1, p, out);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
