#pragma once
/// \file arch/x86/lattice.hpp
/// The 256-bit x86 dot of the codebook formats (iq1_s ... iq3_s, ref/lattice.hpp), shared by the AVX2, AVX-VNNI
/// and AVX-512 backends: per 32 weights the grid entries are loaded whole from the format's byte grid
/// (ref::grid_bytes, 2 to 16 KiB, L1/L2-resident), the signs (or iq1's shifts) applied in registers, an int8 dot
/// with the q8_K activations, scaled by the sub-block multipliers 2s + 1 in int32. The integer sum of a super-block
/// is the reference's, and the float steps are the reference's too: the result is the reference's bit for bit.
/// GEMM (lattice_rows) decodes each weight row once for the whole batch and then runs the same steps per output.
#include "../../ref/lattice.hpp"
#include "common.hpp"
#include "byte_panel.hpp"
#include "gemm.hpp"
#include "int8_dot.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// 0xFF in byte i of the result where bit i of `bits` is set (byte i tests bit i % 8 of byte i / 8).
LOWBIT_INLINE __m256i bit_mask(std::uint32_t bits) noexcept {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                               _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

/// v negated where m is 0xFF.
LOWBIT_INLINE __m256i negate_where(__m256i v, __m256i m) noexcept { return _mm256_sub_epi8(_mm256_xor_si256(v, m), m); }

/// Four 8-byte (or eight 4-byte) grid entries as one vector.
template <class Fmt>
LOWBIT_INLINE __m256i grid_entries(const int* index) noexcept {
    const auto& g = ref::grid_bytes<Fmt>.entry;
    if constexpr (Fmt::grid_width == 8) {
        return _mm256_setr_epi64x(static_cast<long long>(g[index[0]]), static_cast<long long>(g[index[1]]),
                                  static_cast<long long>(g[index[2]]), static_cast<long long>(g[index[3]]));
    } else {
        return _mm256_setr_epi32(static_cast<int>(g[index[0]]), static_cast<int>(g[index[1]]), static_cast<int>(g[index[2]]),
                                 static_cast<int>(g[index[3]]), static_cast<int>(g[index[4]]), static_cast<int>(g[index[5]]),
                                 static_cast<int>(g[index[6]]), static_cast<int>(g[index[7]]));
    }
}

/// Weights 32k .. 32k + 31 of a block as signed bytes v (weight = unit * v).
template <class Fmt>
LOWBIT_INLINE __m256i lattice_values32(const typename Fmt::block& b, int k) noexcept {
    int index[32 / Fmt::grid_width];
    const std::uint32_t signs = ref::indices32<Fmt>(b, k, index);
    const __m256i entries = grid_entries<Fmt>(index);
    if constexpr (Fmt::delta_group != 0)  // 8 g + 1, or 8 g - 1 where the shift is negative
        return _mm256_add_epi8(entries, _mm256_or_si256(bit_mask(signs), _mm256_set1_epi8(1)));
    else
        return negate_where(entries, bit_mask(signs));
}

/// The multipliers 2s + 1 of weights 32k .. 32k + 31 as int16 (both halves of each dword equal): one per 16
/// weights (each 128-bit half) or one for all 32.
template <class Fmt>
LOWBIT_INLINE __m256i lattice_multipliers(const int* scale, int k) noexcept {
    if constexpr (Fmt::scale_group == 16)
        return _mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(2 * scale[2 * k] + 1)),
                                 _mm_set1_epi16(static_cast<short>(2 * scale[2 * k + 1] + 1)));
    else
        return _mm256_set1_epi16(static_cast<short>(2 * scale[k] + 1));
}

/// acc + the products of 32 weights v (signed bytes) with 32 q8_K activations at aq, times the weights'
/// multipliers m (Dot::weights of lattice_multipliers): |a| (<= 128) unsigned times v with a's sign (|v| <= 62),
/// so pairs and quads fit int16.
template <class Dot>
LOWBIT_INLINE __m256i lattice_products(__m256i acc, __m256i v, __m256i m, const std::int8_t* aq) noexcept {
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq));
    const __m256i p = Dot::add_products(_mm256_setzero_si256(), _mm256_abs_epi8(act), _mm256_sign_epi8(v, act));
    return _mm256_add_epi32(acc, Dot::widen_scaled(p, m));
}

/// One super-block's term of the row sum: float(isum) * (d_w * d_a), rounded as the reference rounds it.
LOWBIT_INLINE float lattice_term(__m256i isum_lanes, float d, const q8_K::block& a) noexcept {
    return detail::rounded(static_cast<float>(hsum_epi32(isum_lanes)) * (d * a.d.value()));
}

/// With q8_K activations: per super-block the exact isum, then sum += float(isum) * (d_w * d_a) in block order
/// and the result times dot_factor: the reference's float steps, so its result bit for bit.
template <class Dot, class Block>
inline float lattice_dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks) noexcept {
    using Fmt = typename Block::format;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int scale[16];
        ref::sub_scales<Fmt>(w[b], scale);
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k)
            acc = lattice_products<Dot>(acc, lattice_values32<Fmt>(w[b], k), Dot::weights(lattice_multipliers<Fmt>(scale, k)),
                                        a[b].qs + 32 * k);
        sum += lattice_term(acc, fp16_to_fp32(Fmt::scale_bits(w[b])), a[b]);
    }
    return sum * Fmt::dot_factor;
}

/// decoded_rows' Decoder (core/matmul.hpp) of a codebook format: a super-block's weights 32k .. 32k + 31 as bytes v[k],
/// their multipliers m[k] (in the Dot's form) and d; term() takes lattice_dot_blocks' steps, so a GEMM output is
/// dot_blocks' bit for bit, with the grid lookups done once for the batch.
template <class Dot, class Fmt>
struct lattice_decoder {
    struct decoded {
        __m256i v[8], m[8];
        float d;
    };
    static constexpr float factor = Fmt::dot_factor;
    static constexpr std::size_t sub_block = Fmt::scale_group;
    static LOWBIT_INLINE void decode(const typename Fmt::block& w, decoded& out) noexcept {
        int scale[16];
        ref::sub_scales<Fmt>(w, scale);
        for (int k = 0; k < 8; ++k) {
            out.v[k] = lattice_values32<Fmt>(w, k);
            out.m[k] = Dot::weights(lattice_multipliers<Fmt>(scale, k));
        }
        out.d = fp16_to_fp32(Fmt::scale_bits(w));
    }
    static void multipliers(const typename Fmt::block& w, int* m) noexcept {
        ref::sub_scales<Fmt>(w, m);
        for (std::size_t s = 0; s < qk_k / sub_block; ++s) m[s] = 2 * m[s] + 1;
    }
    static LOWBIT_INLINE __m256i values(const decoded& w, int k) noexcept { return w.v[k]; }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k) acc = lattice_products<Dot>(acc, w.v[k], w.m[k], a.qs + 32 * k);
        return lattice_term(acc, w.d, a);
    }
};
template <class Fmt, class Dot>
struct decoder_for<Fmt, Dot, std::enable_if_t<ref::lattice_format<typename Fmt::block>::value>> {
    using type = lattice_decoder<Dot, Fmt>;
};

/// gemm_rows of the codebook formats: GEMV row by row (lattice_dot_blocks); GEMM decodes each row once into
/// scratch (544 bytes per 256 weights, L1/L2-resident) and multiplies it by 4 activation rows per tile.
template <class Dot, class WFmt>
void lattice_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const_qmatrix_view<q8_K> xq,
                  const matmul_output& out) {
    decoded_rows(w, r0, r1, xq, out, lattice_decoder<Dot, WFmt>{},
                 [&](std::size_t r) { return lattice_dot_blocks<Dot>(w.row(r), xq.row(0), w.blocks_per_row()); });
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
