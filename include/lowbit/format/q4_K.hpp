#pragma once
/// \file format/q4_K.hpp
/// q4_K: 4-bit asymmetric K-quant, 256 weights in 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min.
/// Byte-identical to GGUF's Q4_K (block_q4_K).
///
///   byte  0      2      4            16                                        144
///         +------+------+------------+-----------------------------------------+
///         |  d   | dmin | scales[12] | qs[128]                                 |   144 bytes / 256 weights
///         +------+------+------------+-----------------------------------------+   = 4.5 bits per weight
///   scales: eight 6-bit scales sc_s and eight 6-bit mins m_s of the sub-blocks s = 0..7 (weights 32s .. 32s+31):
///     s < 4:   sc_s = scales[s] & 63                          m_s = scales[s + 4] & 63
///     s >= 4:  sc_s = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4
///              m_s  = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4
///     i.e. bytes 0-3 hold sc0-sc3 and the top bits of sc4-sc7, bytes 4-7 m0-m3 and the top bits of m4-m7,
///     bytes 8-11 the low nibbles of sc4-sc7 (bits 0-3) and of m4-m7 (bits 4-7)
///   qs:  4-bit codes q in 0..15. Weight i = 64g + 32h + l (g in 0..3, h in 0..1, l in 0..31) is nibble h
///        (h = 0: bits 0-3) of qs[32g + l]
///   d, dmin: fp16
///   weight i = float(float(d * sc_s) * q_i) - float(dmin * m_s),   s = i / 32
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

namespace detail {
/// The 12-byte scale field of q4_K and q5_K with every 6-bit scale and min equal to 1.
inline void set_unit_scales_6bit(std::uint8_t (&scales)[12]) noexcept {
    for (int j = 0; j < 8; ++j) scales[j] = 1;
    for (int j = 8; j < 12; ++j) scales[j] = 0x11;
}
}  // namespace detail

struct q4_K {
    struct block {
        using format = q4_K;
        half_bytes d;
        half_bytes dmin;
        std::uint8_t scales[12];
        std::uint8_t qs[128];
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q4_K"; }
    /// ggml's type id: a GGUF tensor of type 12 holds these blocks.
    static constexpr std::uint32_t ggml_type = 12;
    /// False if a stored super-block scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d) && is_finite_half(b.dmin); }

    /// The codec: weight i = float(float(d * sc_s) * u_i) - float(dmin * m_s), s = i / 32; u_i in 0..15 (a nibble of qs),
    /// sc_s and m_s in 0..63 (the 6-bit pairs of scales[0..11]).
    static constexpr int code_bits = 4, sub_block = 32, zero_point = 0, scale_lo = 0, scale_hi = 63, min_hi = 63;
    static constexpr bool has_min = true;
    static int code(const block& b, int i) noexcept { return detail::bit_plane<4, 32>::get(b.qs, i); }
    /// code(b, i) for every i, ORed into u (zeroed).
    static void codes(const block& b, std::uint8_t* u) noexcept { detail::bit_plane<4, 32>::or_all(b.qs, u); }
    static void put_code(block& b, int i, int u) noexcept { detail::bit_plane<4, 32>::put(b.qs, i, u); }
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
static_assert(sizeof(q4_K::block) == 144, "q4_K block must be 144 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
