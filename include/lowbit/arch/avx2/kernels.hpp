#pragma once
/// \file arch/avx2/kernels.hpp
/// The AVX2 backend (x86-64 with AVX2, FMA and F16C): quantize, dequantize and dot of every format, and GEMM.
#include "../../config.hpp"
#if LOWBIT_HAVE_AVX2
#include "attention.hpp"
#include "gemm.hpp"
#include "kquant.hpp"
#include "lattice.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"
#include "ternary.hpp"
#include "trellis.hpp"
#include "q8.hpp"
#endif
