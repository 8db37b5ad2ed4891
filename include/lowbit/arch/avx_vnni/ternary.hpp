#pragma once
/// \file arch/avx_vnni/ternary.hpp
/// AVX-VNNI dot products of tq1_0 and tq2_0: AVX2's (arch/x86/ternary.hpp) with vpdpbusd as the int8 dot.
#include "../x86/ternary.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class Block, ref::if_ternary_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::ternary_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
