#pragma once
/// \file arch/avx2/lattice.hpp
/// AVX2 dot products of the codebook formats (arch/x86/lattice.hpp). Quantize and dequantize are the reference's.
#include "../x86/lattice.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The reference's result, bit for bit (see x86_impl::lattice_dot_blocks).
template <class Block, ref::if_lattice_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const avx2&) noexcept {
    return x86_impl::lattice_dot_blocks<x86_impl::maddubs_dot>(w, a, nblocks);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
