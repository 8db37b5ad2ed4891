#pragma once
/// \file arch/avx2/ternary.hpp
/// AVX2 dot products of tq1_0 and tq2_0 (arch/x86/ternary.hpp). Quantize and dequantize are the reference's.
#include "../x86/ternary.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The reference's result, bit for bit (see x86_impl::ternary_dot_blocks).
template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx2&) noexcept {
    return x86_impl::ternary_dot_blocks<x86_impl::maddubs_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
