#pragma once
/// \file arch/avx_vnni/lattice.hpp
/// AVX-VNNI dot products of the codebook formats: AVX2's (arch/x86/lattice.hpp) with vpdpbusd as the int8 dot.
#include "../x86/lattice.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class Block, ref::if_lattice_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx_vnni&) noexcept {
    return x86_impl::lattice_dot_blocks<x86_impl::dpbusd_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
