#pragma once
/// \file arch/avx_vnni/kernels.hpp
/// The AVX-VNNI backend: AVX2's kernels with the 256-bit vpdpbusd as the int8 dot (dot_blocks of the nibble and K
/// formats, and GEMM), and vpdpwssd for attention's integer p.v; quantize, dequantize, q8_0's dot and make_panel
/// come from avx2.
#include "../../config.hpp"
#if LOWBIT_HAVE_AVX_VNNI
#include "attention.hpp"
#include "gemm.hpp"
#include "kquant.hpp"
#include "lattice.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"
#include "ternary.hpp"
#include "trellis.hpp"
#endif
