#pragma once
/// \file arch/avx_vnni/linear32.hpp
/// AVX-VNNI dot products of q4_0, q4_1, q5_0 and q5_1: AVX2's driver (arch/x86/linear32.hpp) with vpdpbusd as the
/// int8 dot. Quantize and dequantize are AVX2's.
#include "../x86/linear32.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The same integer block sums and float steps as the AVX2 kernel, so the same result, bit for bit.
template <class Block, ref::if_nibble_format<Block> = 0>
inline float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                        const avx_vnni&) noexcept {
    return x86_impl::nibble_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
