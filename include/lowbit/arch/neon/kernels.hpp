#pragma once
/// \file arch/neon/kernels.hpp
/// The NEON backends (neon, neon_dotprod, neon_i8mm): quantize, dequantize and dot of every format; GEMM
/// through the generic row loop of core/matmul.hpp, packed weights (dotprod: gemm.hpp, arch/kpacked.hpp), and each
/// row decoded once for the formats costly to decode (decoded_rows).
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

LOWBIT_NAMESPACE_BEGIN namespace arch {

/// The formats each NEON backend multiplies with decoded_rows (codebook, trellis and ternary formats, iq4_xs: their
/// gemm_rows are in lattice.hpp, trellis.hpp, ternary.hpp and nonlinear.hpp).
template <class WBlock, class Tag,
          std::enable_if_t<(ref::lattice_format<WBlock>::value || ref::trellis_format<WBlock>::value ||
                            ref::ternary_format<WBlock>::value || std::is_same<WBlock, iq4_xs::block>::value) &&
                               std::is_base_of<neon, Tag>::value, int> = 0>
decoded_panel<q8_K> make_panel(const WBlock*, const_qmatrix_view<q8_K> xq, const Tag&) {
    return {xq};
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
#endif
