#pragma once
/// \file arch/neon/kernels.hpp
/// The NEON backends (neon, neon_dotprod, neon_i8mm): quantize, dequantize and dot of every format; GEMM
/// through the generic row loop of core/matmul.hpp, and packed K weights through arch/kpacked.hpp (dotprod).
#include "../../config.hpp"
#if LOWBIT_HAVE_NEON
#include "attention.hpp"
#include "gemm.hpp"
#include "kquant.hpp"
#include "lattice.hpp"
#include "linear32.hpp"
#include "nonlinear.hpp"
#include "q8.hpp"
#include "ternary.hpp"
#include "trellis.hpp"
#endif
