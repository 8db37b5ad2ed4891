#pragma once
/// \file format/q5_K.hpp
/// q5_K: 5-bit asymmetric K-quant, 256 weights in 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min.
/// Byte-identical to GGUF's Q5_K (block_q5_K).
///
///   byte  0      2      4            16          48                                176
///         +------+------+------------+-----------+----------------------------------+
///         |  d   | dmin | scales[12] | qh[32]    | qs[128]                          |   176 bytes / 256 weights
///         +------+------+------------+-----------+----------------------------------+   = 5.5 bits per weight
///   scales: as q4_K (eight 6-bit scales sc_s and mins m_s)
///   code q_i in 0..31 of weight i:
///     bits 0-3: as q4_K's qs (weight i = 64g + 32h + l is nibble h of qs[32g + l])
///     bit 4:    bit (i / 32) of qh[i % 32]
///   d, dmin: fp16
///   weight i = float(float(d * sc_s) * q_i) - float(dmin * m_s),   s = i / 32
#include "q4_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q5_K {
    struct block {
        using format = q5_K;
        half_bytes d;
        half_bytes dmin;
        std::uint8_t scales[12];
        std::uint8_t qh[32];
        std::uint8_t qs[128];
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q5_K"; }
    /// ggml's type id: a GGUF tensor of type 13 holds these blocks.
    static constexpr std::uint32_t ggml_type = 13;
    /// False if a stored super-block scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d) && is_finite_half(b.dmin); }

    /// The codec: weight i = float(float(d * sc_s) * u_i) - float(dmin * m_s), s = i / 32; u_i in 0..31 (a nibble of
    /// qs, the fifth bit in qh), sc_s and m_s in 0..63 (the 6-bit pairs of scales[0..11]).
    static constexpr int code_bits = 5, sub_block = 32, zero_point = 0, scale_lo = 0, scale_hi = 63, min_hi = 63;
    static constexpr bool has_min = true;
    static int code(const block& b, int i) noexcept {
        return detail::bit_plane<4, 32>::get(b.qs, i) | detail::bit_plane<1, 32>::get(b.qh, i) << 4;
    }
    /// code(b, i) for every i, ORed into u (zeroed).
    static void codes(const block& b, std::uint8_t* u) noexcept {
        detail::bit_plane<4, 32>::or_all(b.qs, u);
        detail::bit_plane<1, 32>::or_all<4>(b.qh, u);
    }
    static void put_code(block& b, int i, int u) noexcept {
        detail::bit_plane<4, 32>::put(b.qs, i, u);
        detail::bit_plane<1, 32>::put(b.qh, i, u >> 4);
    }
    static void get_scales(const block& b, int* sc, int* m) noexcept {
        detail::scales_6bit_pairs::unpack(b.scales, sc, m);
    }
    static void put_scales(const int* sc, const int* m, block& b) noexcept {
        detail::scales_6bit_pairs::pack(sc, m, b.scales);
    }

    /// Test hooks (see format/kquant_common.hpp).
    template <class Rng>
    static void set_unit_scales(block& b, Rng&) noexcept {
        b.d.set_bits(0x3C00);
        b.dmin.set_bits(0x3C00);
        detail::set_unit_scales_6bit(b.scales);
    }
    template <class Rng>
    static void set_random_scales(block& b, Rng& rng) {
        b.d.set_bits(detail::random_test_scale(rng));
        b.dmin.set_bits(detail::random_test_scale(rng));
    }
};
static_assert(sizeof(q5_K::block) == 176, "q5_K block must be 176 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
