#pragma once
/// \file arch/x86/nonlinear.hpp
/// The 256-bit x86 pieces of the iq4_nl, mxfp4 and iq4_xs kernels, shared by the AVX2 and AVX-VNNI backends: a block's
/// table values as bytes (one vpshufb of its nibbles: the 16-entry table fits a register), and dot_blocks over an
/// int8 dot (int8_dot.hpp) through the block driver of common.hpp, with exact integer block sums.
#include "../../ref/nonlinear.hpp"
#include "common.hpp"
#include "int8_dot.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// The format's 16 table values in both 128-bit lanes (vpshufb looks up within each lane).
template <class Fmt>
LOWBIT_INLINE __m256i value_table() noexcept {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(Fmt::values)));
}

/// A block's 32 values (table entries) as signed bytes in weight order.
template <class Block>
LOWBIT_INLINE __m256i table_values(const Block& b, __m256i table) noexcept {
    return _mm256_shuffle_epi8(table, unpack_nibbles(b.qs));
}

/// With q8_0 activations: sum of isum * (d_w * d_a), 8 blocks per step (see dot_driver).
template <class Dot, class Block>
inline float nonlinear_dot_blocks(const Block* w, const q8_0::block* a, std::size_t nblocks) noexcept {
    const __m256i table = value_table<typename Block::format>();
    return dot_driver<false>(w, a, nblocks, [table](const Block& wb, const q8_0::block& ab) {
        return signed_dot<Dot>(table_values(wb, table), ab.qs);
    });
}

/// iq4_xs with q8_K: per super-block the exact isum = sum over sub-blocks of l_s * (values . a), then
/// sum += float(isum) * (d_w * d_a) in block order: the reference's float steps, so its result bit for bit.
template <class Dot>
inline float iq4_xs_dot_blocks(const iq4_xs::block* w, const q8_K::block* a, std::size_t nblocks) noexcept {
    const __m256i table = value_table<iq4_nl>();
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        __m256i acc = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i v = _mm256_shuffle_epi8(table, unpack_nibbles(w[b].qs + 16 * s));
            const __m256i l = _mm256_set1_epi32(iq4_xs::sub_scale(w[b], s));
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(signed_dot<Dot>(v, a[b].qs + 32 * s), l));
        }
        sum += detail::rounded(static_cast<float>(hsum_epi32(acc)) * (load_half1(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
