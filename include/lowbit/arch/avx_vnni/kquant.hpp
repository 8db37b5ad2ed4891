#pragma once
/// \file arch/avx_vnni/kquant.hpp
/// AVX-VNNI dot products of the K-quants q2_K ... q6_K with q8_K: AVX2's decoder (arch/x86/kquant.hpp) with
/// vpdpbusd as the int8 dot. Quantize and dequantize are AVX2's.
#include "../x86/kquant.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The same integer block sums and kdot_step as the AVX2 kernel, so the same result, bit for bit.
template <class Block, ref::if_kquant<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::kdot_blocks<x86_impl::kdecoder_ymm<x86_impl::dpbusd_dot>>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
