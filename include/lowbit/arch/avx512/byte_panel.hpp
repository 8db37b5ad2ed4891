#pragma once
/// \file arch/avx512/byte_panel.hpp
/// AVX-512 VNNI GEMM of the formats decoded_rows serves (the codebook, trellis and ternary formats, iq4_xs): from
/// byte_panel_batch activation rows, 16-row panels decoded once and multiplied by the K-packed micro-kernel on zmm
/// (arch/x86/byte_panel.hpp); with fewer, the 256-bit decoded_rows path. Every output is dot_blocks', bit for bit.
#include "../x86/byte_panel.hpp"
#include "../x86/lattice.hpp"
#include "../x86/nonlinear.hpp"
#include "../x86/ternary.hpp"
#include "../x86/trellis.hpp"
#include "gemm.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The decoders' values do not depend on their int8 dot: AVX2's (this backend's 256-bit one without -mavxvnni).
template <class WFmt, class Decoder = x86_impl::decoder_t<WFmt, x86_impl::maddubs_dot>>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx512_vnni&) {
    x86_impl::byte_panel_rows<avx512_impl::zmm_ops>(w, r0, r1, p.xq, out, Decoder{},
                                                    [&] { gemm_rows(w, r0, r1, p, out, avx_vnni{}); });
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
