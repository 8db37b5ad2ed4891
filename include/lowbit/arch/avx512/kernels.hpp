#pragma once
/// \file arch/avx512/kernels.hpp
/// The AVX-512 backends: avx512 (BW) brings q8 and linear32 kernels and takes the rest from avx2; avx512_vnni adds
/// vpdpbusd kernels for every family and GEMM (the costly-to-decode formats' through byte panels), and vpdpwssd for
/// attention's integer p.v.
#include "../../config.hpp"
#if LOWBIT_HAVE_AVX512
#include "linear32.hpp"
#include "q8.hpp"
#endif
#if LOWBIT_HAVE_AVX512_VNNI
#include "attention.hpp"
#include "byte_panel.hpp"
#include "gemm.hpp"
#include "kquant.hpp"
#endif
