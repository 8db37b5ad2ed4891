#pragma once
/// \file arch/avx_vnni/kernels.hpp
/// The AVX-VNNI backend: AVX2's kernels with the 256-bit vpdpbusd as the int8 dot.
#include "../../config.hpp"
#if LOWBIT_HAVE_AVX_VNNI
#endif
