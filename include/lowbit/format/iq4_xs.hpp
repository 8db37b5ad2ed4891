#pragma once
/// \file format/iq4_xs.hpp
/// iq4_xs: iq4_nl's non-linear 4-bit codes in 256-weight super-blocks, with a 6-bit signed scale per 32 weights
/// under one fp16 super-block scale. Byte-identical to GGUF's IQ4_XS (block_iq4_xs).
///
///   byte  0     2          4              8                                      136
///         +-----+----------+--------------+---------------------------------------+
///         |  d  | scales_h | scales_l[4]  | qs[0] ...                     qs[127] |   136 bytes / 256 weights
///         +-----+----------+--------------+---------------------------------------+   = 4.25 bits per weight
///   d:        fp16 super-block scale
///   scale of sub-block s (0..7, 32 weights each), ls_s in 0..63:
///             low 4 bits: nibble s % 2 of scales_l[s / 2] (low nibble first); high 2 bits: bits 2s, 2s+1 of
///             scales_h (uint16, little-endian)
///   qs[16 s + j] = code of weight 32 s + j | code of weight 32 s + j + 16 << 4   (as iq4_nl, per sub-block)
///   weight i of sub-block s = float(d * (ls_s - 32)) * iq4_nl::values[code_i]
#include "iq4_nl.hpp"
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq4_xs {
    struct block {
        using format = iq4_xs;
        half_bytes d;
        std::uint8_t scales_h[2];
        std::uint8_t scales_l[4];
        std::uint8_t qs[128];
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq4_xs"; }
    /// ggml's type id: a GGUF tensor of type 23 holds these blocks.
    static constexpr std::uint32_t ggml_type = 23;
    /// The codec: iq4_nl's table; sub-block scales ls - 32 in -32..31.
    static constexpr const std::int8_t (&values)[16] = iq4_nl::values;
    static constexpr int scale_offset = 32;
    static constexpr bool has_min = false;
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
    /// ls_s - 32 of sub-block s (0..7).
    static constexpr int sub_scale(const block& b, int s) noexcept {
        const int low = (b.scales_l[s / 2] >> (4 * (s % 2))) & 0x0F;
        const int high = ((b.scales_h[0] | b.scales_h[1] << 8) >> (2 * s)) & 0x03;
        return (low | high << 4) - scale_offset;
    }
    /// Stores the sub-block scales l_s (-32..31) of all 8 sub-blocks.
    static constexpr void set_sub_scales(block& b, const int (&l)[8]) noexcept {
        unsigned high = 0;
        for (int s = 0; s < 8; ++s) {
            const unsigned ls = static_cast<unsigned>(l[s] + scale_offset) & 0x3F;
            if (s % 2 == 0) b.scales_l[s / 2] = static_cast<std::uint8_t>(ls & 0x0F);
            else b.scales_l[s / 2] = static_cast<std::uint8_t>(b.scales_l[s / 2] | (ls & 0x0F) << 4);
            high |= (ls >> 4) << (2 * s);
        }
        b.scales_h[0] = static_cast<std::uint8_t>(high & 0xFF);
        b.scales_h[1] = static_cast<std::uint8_t>(high >> 8);
    }

    /// Test hooks (format/kquant_common.hpp): d = 1 with every sub-block scale 1, or a random finite d.
    template <class Rng>
    static void set_unit_scales(block& b, Rng&) noexcept {
        b.d.set_bits(0x3C00);
        const int one[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        set_sub_scales(b, one);
    }
    template <class Rng>
    static void set_random_scales(block& b, Rng& rng) {
        b.d.set_bits(detail::random_test_scale(rng));
    }
};
static_assert(sizeof(iq4_xs::block) == 136, "iq4_xs block must be 136 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
