#pragma once
/// \file arch/x86/nonlinear.hpp
/// The 256-bit x86 pieces of the iq4_nl, mxfp4 and iq4_xs kernels, shared by the AVX2 and AVX-VNNI backends: a block's
/// table values as bytes (one vpshufb of its nibbles: the 16-entry table fits a register), and dot_blocks over an
/// int8 dot (int8_dot.hpp) through the block driver of common.hpp, with exact integer block sums.
#include "../../core/matmul.hpp"
#include "../../ref/nonlinear.hpp"
#include "common.hpp"
#include "byte_panel.hpp"
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

/// iq4_xs with q8_K, decoded_rows' Decoder (core/matmul.hpp), which its dot_blocks runs too: a super-block's
/// sub-block s as 32 table values v[s] and its scale l_s (m[s]: l_s in every int16 lane for vpmaddubsw's pair sums,
/// which fit int16 as |v| <= 127 and |a| <= 128, so one vpmaddwd weights them; in every int32 lane for vpdpbusd's
/// quad sums, which do not); term() is the exact isum = sum over s of l_s * (v[s] . a) times (d_w * d_a), rounded:
/// the reference's float step.
template <class Dot>
struct iq4_xs_decoder {
    static constexpr bool pairs = Dot::partial_max <= 32767;
    struct decoded {
        __m256i v[8], m[8];
        float d;
    };
    static constexpr float factor = 1.0f;
    static constexpr std::size_t sub_block = 32;
    __m256i table = value_table<iq4_nl>();
    LOWBIT_INLINE void decode(const iq4_xs::block& w, decoded& out) const noexcept {
        for (int s = 0; s < 8; ++s) {
            out.v[s] = _mm256_shuffle_epi8(table, unpack_nibbles(w.qs + 16 * s));
            const int l = iq4_xs::sub_scale(w, s);
            out.m[s] = pairs ? _mm256_set1_epi16(static_cast<short>(l)) : _mm256_set1_epi32(l);
        }
        out.d = load_half1(w.d);
    }
    static void multipliers(const iq4_xs::block& w, int* m) noexcept {
        for (int s = 0; s < 8; ++s) m[s] = iq4_xs::sub_scale(w, s);
    }
    static LOWBIT_INLINE __m256i values(const decoded& w, int k) noexcept { return w.v[k]; }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        __m256i acc = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * s));
            const __m256i p = Dot::add_products(_mm256_setzero_si256(), _mm256_abs_epi8(act), _mm256_sign_epi8(w.v[s], act));
            acc = _mm256_add_epi32(acc, pairs ? _mm256_madd_epi16(p, w.m[s]) : _mm256_mullo_epi32(Dot::widen(p), w.m[s]));
        }
        return detail::rounded(static_cast<float>(hsum_epi32(acc)) * (w.d * a.d.value()));
    }
};
template <class Dot>
struct decoder_for<iq4_xs, Dot> {
    using type = iq4_xs_decoder<Dot>;
};

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
