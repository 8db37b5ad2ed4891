#pragma once
/// \file format/q3_K.hpp
/// q3_K: 3-bit symmetric K-quant, 256 weights in 16 sub-blocks of 16, each with a signed 6-bit scale.
/// Byte-identical to GGUF's Q3_K (block_q3_K).
///
///   byte  0            32                       96           108    110
///         +------------+------------------------+------------+------+
///         | hmask[32]  | qs[64]                 | scales[12] |  d   |   110 bytes / 256 weights
///         +------------+------------------------+------------+------+   = 3.4375 bits per weight
///   code u_i in 0..7 of weight i:
///     bits 0-1: as q2_K's qs (weight i = 128g + 32k + l is bits 2k..2k+1 of qs[32g + l])
///     bit 2:    bit (i / 32) of hmask[i % 32]
///   scales: 16 6-bit values S_s, biased by 32; scale sc_s = S_s - 32 in -32..31
///     bits 0-3 of S_s: low nibble of scales[s] for s < 8, high nibble of scales[s - 8] for s >= 8
///     bits 4-5 of S_s: bits 2(s/4) .. 2(s/4)+1 of scales[8 + s % 4]
///   d: fp16
///   weight i = float(d * sc_s) * (u_i - 4),   s = i / 16
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q3_K {
    struct block {
        using format = q3_K;
        std::uint8_t hmask[32];
        std::uint8_t qs[64];
        std::uint8_t scales[12];
        half_bytes d;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q3_K"; }
    /// ggml's type id: a GGUF tensor of type 11 holds these blocks.
    static constexpr std::uint32_t ggml_type = 11;
    /// False if the stored super-block scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }

    /// The codec: weight i = float(d * sc_s) * (u_i - 4), s = i / 16; u_i in 0..7 (2 bits in qs, the third in hmask),
    /// sc_s in -32..31 (6 bits, biased by 32, split over scales[0..11]).
    static constexpr int code_bits = 3, sub_block = 16, zero_point = 4, scale_lo = -32, scale_hi = 31, min_hi = 0;
    static constexpr bool has_min = false;
    static int code(const block& b, int i) noexcept {
        return detail::bit_plane<2, 32>::get(b.qs, i) | (detail::bit_plane<1, 32>::get(b.hmask, i) << 2);
    }
    /// code(b, i) for every i, ORed into u (zeroed).
    static void codes(const block& b, std::uint8_t* u) noexcept {
        detail::bit_plane<2, 32>::or_all(b.qs, u);
        detail::bit_plane<1, 32>::or_all<2>(b.hmask, u);
    }
    static void put_code(block& b, int i, int u) noexcept {
        detail::bit_plane<2, 32>::put(b.qs, i, u);
        detail::bit_plane<1, 32>::put(b.hmask, i, u >> 2);
    }
    static void get_scales(const block& b, int* sc, int*) noexcept {
        for (int s = 0; s < 16; ++s) {
            const int low = (s < 8 ? b.scales[s] : b.scales[s - 8] >> 4) & 15;
            const int high = (b.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
            sc[s] = (low | (high << 4)) - 32;
        }
    }
    static void put_scales(const int* sc, const int*, block& b) noexcept {
        for (auto& q : b.scales) q = 0;
        for (int s = 0; s < 16; ++s) {
            const int biased = sc[s] + 32;
            b.scales[s % 8] |= static_cast<std::uint8_t>((biased & 15) << (s < 8 ? 0 : 4));
            b.scales[8 + s % 4] |= static_cast<std::uint8_t>((biased >> 4) << (2 * (s / 4)));
        }
    }

    /// Test hooks (see format/kquant_common.hpp).
    template <class Rng>
    static void set_unit_scales(block& b, Rng&) noexcept {
        b.d.set_bits(0x3C00);
        for (int j = 0; j < 8; ++j) b.scales[j] = 0x11;       // low nibbles of S = 33
        for (int j = 8; j < 12; ++j) b.scales[j] = 0xAA;      // high bits of S = 33 (binary 10)
    }
    template <class Rng>
    static void set_random_scales(block& b, Rng& rng) {
        b.d.set_bits(detail::random_test_scale(rng));
    }
};
static_assert(sizeof(q3_K::block) == 110, "q3_K block must be 110 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
