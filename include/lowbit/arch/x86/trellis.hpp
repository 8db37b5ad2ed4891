#pragma once
/// \file arch/x86/trellis.hpp
/// The 256-bit x86 pieces of the tcq2 and tcq3 kernels, shared by the AVX2 and AVX-VNNI backends: a block's windows
/// decoded with byte shuffles and 16-bit multiplies, their table values looked up with vpshufb, and the int8 dot
/// with the q8_K activations (int8_dot.hpp); GEMM (trellis_rows) decodes each weight row once for the batch.
///
/// Decoding 32 weights (arch/trellis_groups.hpp): two vpshufb gather each window's words from the group's 16 bytes
/// (in both 128-bit lanes), one vpmullw and one vpmulhuw shift them by each weight's own amount. The table is odd
/// (values[i] = -values[2^q - 1 - i]), so its upper half (2 or 4 registers of vpshufb) and a sign give every entry.
#include "../../ref/trellis.hpp"
#include "../trellis_groups.hpp"
#include "common.hpp"
#include "byte_panel.hpp"
#include "gemm.hpp"
#include "int8_dot.hpp"

#include <cstddef>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace x86_impl {

/// A format's group constants in the lane order of 256-bit registers: register 0 holds weights 0-7 and 16-23 of the
/// group, register 1 weights 8-15 and 24-31, so that vpackuswb of the two leaves the indices in weight order.
template <class Format>
struct trellis_ymm_groups {
    using geometry = trellis_groups<Format>;
    struct group {
        std::uint8_t u0[2][32];      // vpshufb: the word at byte c - 2 of each weight, relative to the group's base
        std::uint8_t u1[2][32];      // the word at byte c - 1
        std::uint16_t left[2][16];   // 2^(8 - r)
        std::uint16_t right[2][16];  // 2^(16 - r): vpmulhuw shifts right by r
    };
    static constexpr group make(int g) noexcept {
        group out{};
        for (int reg = 0; reg < 2; ++reg)
            for (int lane = 0; lane < 16; ++lane) {
                const int i = 8 * reg + (lane < 8 ? lane : lane + 8);
                const int c = geometry::byte(g, i), r = geometry::shift(g, i);
                out.u0[reg][2 * lane] = static_cast<std::uint8_t>(c - 2);
                out.u0[reg][2 * lane + 1] = static_cast<std::uint8_t>(c - 1);
                out.u1[reg][2 * lane] = static_cast<std::uint8_t>(c - 1);
                out.u1[reg][2 * lane + 1] = static_cast<std::uint8_t>(c);
                out.left[reg][lane] = static_cast<std::uint16_t>(1u << (8 - r));
                out.right[reg][lane] = static_cast<std::uint16_t>(1u << (16 - r));
            }
        return out;
    }
    static constexpr group groups[4] = {make(0), make(1), make(2), make(3)};
};

/// The 16 stream bytes from byte `base` (a compile-time offset: base + 16 past the block's end is read from an
/// earlier address and shifted; base -2 wraps to the stream's last two bytes).
template <class Block, int Base>
LOWBIT_INLINE __m256i group_bytes(const Block& b) noexcept {
    constexpr int stream = Block::format::code::stream_bytes, size = sizeof(Block);
    static_assert(offsetof(Block, qs) == 0, "the stream starts the block");
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&b);  // the whole block: a load may cover d too
    __m128i v;
    if constexpr (Base < 0) {
        static_assert(Base == -2, "a group starts at most two bytes before the stream");
        std::uint16_t wrap;
        std::memcpy(&wrap, bytes + (stream - 2), 2);
        v = _mm_or_si128(_mm_slli_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes)), 2),
                         _mm_cvtsi32_si128(wrap));
    } else if constexpr (Base + 16 > size) {
        v = _mm_srli_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + (size - 16))), Base + 16 - size);
    } else {
        v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + Base));
    }
    return _mm256_broadcastsi128_si256(v);
}

/// The table indices of one register's 16 weights (16-bit lanes).
template <class Format>
LOWBIT_INLINE __m256i group_indices(__m256i bytes, const typename trellis_ymm_groups<Format>::group& g,
                                    int reg) noexcept {
    using code = typename Format::code;
    const auto load = [](const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); };
    const __m256i u0 = _mm256_shuffle_epi8(bytes, load(g.u0[reg]));
    const __m256i u1 = _mm256_shuffle_epi8(bytes, load(g.u1[reg]));
    const __m256i bits =
        _mm256_or_si256(_mm256_mullo_epi16(u1, load(g.left[reg])), _mm256_mulhi_epu16(u0, load(g.right[reg])));
    const auto low_bits = static_cast<short>(0xFFFFu << (16 - code::window_bits));  // older than the window
    const __m256i window = _mm256_and_si256(bits, _mm256_set1_epi16(low_bits));
    const __m256i product = _mm256_mullo_epi16(window, _mm256_set1_epi16(static_cast<short>(code::multiplier)));
    return _mm256_srli_epi16(product, 16 - code::index_bits);
}

/// The upper half of the format's odd table, 16 entries per register in both lanes.
template <class Format>
struct trellis_table {
    static constexpr int half = 1 << (Format::code::index_bits - 1);
    __m256i part[half / 16];
    trellis_table() noexcept {
        for (int k = 0; k < half / 16; ++k)
            part[k] = _mm256_broadcastsi128_si256(
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(Format::values + half + 16 * k)));
    }
    static constexpr bool odd() noexcept {
        for (int i = 0; i < 2 * half; ++i)
            if (Format::values[i] != -Format::values[2 * half - 1 - i]) return false;
        return true;
    }
    static_assert(odd(), "the SIMD lookup needs values[i] = -values[2^q - 1 - i]");

    /// values[i] for 32 byte indices i < 2^q.
    LOWBIT_INLINE __m256i operator()(__m256i i) const noexcept {
        const __m256i lower = _mm256_cmpgt_epi8(_mm256_set1_epi8(half), i);        // i in the lower half: -1
        const __m256i j = _mm256_xor_si256(i, _mm256_and_si256(lower, _mm256_set1_epi8(half - 1)));  // its mirror
        const __m256i bit4 = _mm256_slli_epi16(j, 3);  // bit 4 of each byte in bit 7, as vpblendvb reads it
        __m256i v = _mm256_blendv_epi8(_mm256_shuffle_epi8(part[0], j), _mm256_shuffle_epi8(part[1], j), bit4);
        if constexpr (half == 64) {
            const __m256i upper =
                _mm256_blendv_epi8(_mm256_shuffle_epi8(part[2], j), _mm256_shuffle_epi8(part[3], j), bit4);
            v = _mm256_blendv_epi8(v, upper, _mm256_slli_epi16(j, 2));  // by bit 5
        }
        return _mm256_sign_epi8(v, _mm256_or_si256(lower, _mm256_set1_epi8(1)));
    }
};

/// Group G's 32 values (signed bytes, in weight order).
template <class Block, int G>
LOWBIT_INLINE __m256i trellis_group_values(const Block& w,
                                           const trellis_table<typename Block::format>& table) noexcept {
    using geometry = trellis_groups<typename Block::format>;
    constexpr auto& g = trellis_ymm_groups<typename Block::format>::groups[G % 4];
    const __m256i bytes = group_bytes<Block, geometry::base(G % 4) + (G / 4) * geometry::period_bytes>(w);
    return table(_mm256_packus_epi16(group_indices<typename Block::format>(bytes, g, 0),
                                     group_indices<typename Block::format>(bytes, g, 1)));
}

/// 8 int32 lanes summing to the exact sum of value * a over a block (|lane| <= 8 groups * 4 * 127 * 128).
template <class Dot, class Block, int... G>
LOWBIT_INLINE __m256i trellis_block_dot(const Block& w, const std::int8_t* aq,
                                        const trellis_table<typename Block::format>& table,
                                        std::integer_sequence<int, G...>) noexcept {
    __m256i acc = _mm256_setzero_si256();
    ((acc = _mm256_add_epi32(acc, signed_dot<Dot>(trellis_group_values<Block, G>(w, table), aq + 32 * G))), ...);
    return acc;
}

/// A block's term of the sum: float(isum) * (d_w * d_a), as the reference rounds it.
LOWBIT_INLINE float trellis_term(__m256i acc, float d, const q8_K::block& a) noexcept {
    return detail::rounded(static_cast<float>(hsum_epi32(acc)) * (d * a.d.value()));
}

/// With q8_K activations: per block the exact isum = sum of value * a, then sum += float(isum) * (d_w * d_a) in block
/// order: the reference's float steps, so its result bit for bit.
template <class Dot, class Block>
inline float trellis_dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks) noexcept {
    const trellis_table<typename Block::format> table;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b)
        sum += trellis_term(trellis_block_dot<Dot>(w[b], a[b].qs, table, std::make_integer_sequence<int, 8>{}),
                            load_half1(w[b].d), a[b]);
    return sum;
}

/// decoded_rows' Decoder (core/matmul.hpp) of a trellis format: a block's 256 values and its scale; term() takes
/// trellis_dot_blocks' steps, so a GEMM output is dot_blocks' bit for bit, with the row decoded once for the batch.
template <class Dot, class Fmt>
struct trellis_decoder {
    struct decoded {
        __m256i v[8];
        float d;
    };
    static constexpr float factor = 1.0f;
    static constexpr std::size_t sub_block = qk_k;
    trellis_table<Fmt> table;
    LOWBIT_INLINE void decode(const typename Fmt::block& w, decoded& out) const noexcept {
        unroll<8>([&](auto g) LOWBIT_INLINE_LAMBDA {
            out.v[g] = trellis_group_values<typename Fmt::block, decltype(g)::value>(w, table);
        });
        out.d = load_half1(w.d);
    }
    static LOWBIT_INLINE __m256i values(const decoded& w, int k) noexcept { return w.v[k]; }
    static LOWBIT_INLINE float term(const decoded& w, const q8_K::block& a) noexcept {
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k) acc = _mm256_add_epi32(acc, signed_dot<Dot>(w.v[k], a.qs + 32 * k));
        return trellis_term(acc, w.d, a);
    }
};
template <class Fmt, class Dot>
struct decoder_for<Fmt, Dot, std::enable_if_t<ref::trellis_format<typename Fmt::block>::value>> {
    using type = trellis_decoder<Dot, Fmt>;
};

/// gemm_rows of the trellis formats: GEMV row by row (trellis_dot_blocks); GEMM decodes each row once into scratch
/// (288 bytes per 256 weights, L1/L2-resident) and multiplies it by 4 activation rows per tile.
template <class Dot, class WFmt>
void trellis_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const_qmatrix_view<q8_K> xq,
                  const matmul_output& out) {
    decoded_rows(w, r0, r1, xq, out, trellis_decoder<Dot, WFmt>{},
                 [&](std::size_t r) { return trellis_dot_blocks<Dot>(w.row(r), xq.row(0), w.blocks_per_row()); });
}

}  // namespace x86_impl
}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
