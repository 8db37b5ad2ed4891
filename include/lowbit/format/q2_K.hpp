#pragma once
/// \file format/q2_K.hpp
/// q2_K: 2-bit asymmetric K-quant, 256 weights in 16 sub-blocks of 16, each with a 4-bit scale and a 4-bit min.
/// Byte-identical to GGUF's Q2_K (block_q2_K).
///
///   byte  0              16                                  80     82     84
///         +--------------+-----------------------------------+------+------+
///         | scales[16]   | qs[64]                            |  d   | dmin |   84 bytes / 256 weights
///         +--------------+-----------------------------------+------+------+   = 2.625 bits per weight
///   scales[s] = sc_s | m_s << 4     4-bit scale and min of sub-block s (weights 16s .. 16s+15)
///   qs:  2-bit codes q in 0..3, four per byte. Weight i = 128g + 32k + l (g in 0..1, k in 0..3, l in 0..31)
///        is bits 2k..2k+1 of qs[32g + l]
///   d, dmin: fp16
///   weight i = float(float(d * sc_s) * q_i) - float(dmin * m_s),   s = i / 16
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q2_K {
    struct block {
        using format = q2_K;
        std::uint8_t scales[16];
        std::uint8_t qs[64];
        half_bytes d;
        half_bytes dmin;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q2_K"; }
    /// ggml's type id: a GGUF tensor of type 10 holds these blocks.
    static constexpr std::uint32_t ggml_type = 10;
    /// False if a stored super-block scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d) && is_finite_half(b.dmin); }

    /// The codec: weight i = float(float(d * sc_s) * u_i) - float(dmin * m_s), s = i / 16; u_i in 0..3, sc_s and m_s
    /// in 0..15 (the low and high nibble of scales[s]).
    static constexpr int code_bits = 2, sub_block = 16, zero_point = 0, scale_lo = 0, scale_hi = 15, min_hi = 15;
    static constexpr bool has_min = true;
    static int code(const block& b, int i) noexcept { return detail::bit_plane<2, 32>::get(b.qs, i); }
    /// code(b, i) for every i, ORed into u (zeroed).
    static void codes(const block& b, std::uint8_t* u) noexcept { detail::bit_plane<2, 32>::or_all(b.qs, u); }
    static void put_code(block& b, int i, int u) noexcept { detail::bit_plane<2, 32>::put(b.qs, i, u); }
    static void get_scales(const block& b, int* sc, int* m) noexcept {
        for (int s = 0; s < 16; ++s) {
            sc[s] = b.scales[s] & 15;
            m[s] = b.scales[s] >> 4;
        }
    }
    static void put_scales(const int* sc, const int* m, block& b) noexcept {
        for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<std::uint8_t>(sc[s] | (m[s] << 4));
    }

    /// Test hooks (see format/kquant_common.hpp).
    template <class Rng>
    static void set_unit_scales(block& b, Rng&) noexcept {
        b.d.set_bits(0x3C00);
        b.dmin.set_bits(0x3C00);
        detail::fill_bytes(b.scales, 0x11);  // sc = m = 1
    }
    template <class Rng>
    static void set_random_scales(block& b, Rng& rng) {
        b.d.set_bits(detail::random_test_scale(rng));
        b.dmin.set_bits(detail::random_test_scale(rng));
    }
};
static_assert(sizeof(q2_K::block) == 84, "q2_K block must be 84 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
