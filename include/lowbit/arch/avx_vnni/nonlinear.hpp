#pragma once
/// \file arch/avx_vnni/nonlinear.hpp
/// AVX-VNNI dot products of iq4_nl, mxfp4 and iq4_xs: AVX2's driver (arch/x86/nonlinear.hpp) with vpdpbusd as the int8
/// dot. Dequantize is AVX2's.
#include "../x86/nonlinear.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The same integer block sums and float steps as the AVX2 kernel, so the same result, bit for bit.
template <class Block, ref::if_nonlinear_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_0::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::nonlinear_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

inline float dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::iq4_xs_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
