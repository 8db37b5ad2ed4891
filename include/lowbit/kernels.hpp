#pragma once
/// \file kernels.hpp
/// Every kernel of every backend the compiler flags enable: the reference (ref/), the backend-neutral matmul
/// protocol (core/matmul.hpp), then one line per backend folder (each folder's kernels.hpp is empty unless its
/// backend is compiled). Kernels are overloads on the backend tags of core/backends.hpp.
#include "core/dispatch.hpp"
#include "core/matmul.hpp"
#include "ref/attention.hpp"
#include "ref/kquant.hpp"
#include "ref/lattice.hpp"
#include "ref/linear32.hpp"
#include "ref/nonlinear.hpp"
#include "ref/q8.hpp"
#include "ref/ternary.hpp"
#include "ref/trellis.hpp"

#include "arch/avx2/kernels.hpp"
#include "arch/avx512/kernels.hpp"
#include "arch/avx_vnni/kernels.hpp"
#include "arch/neon/kernels.hpp"
