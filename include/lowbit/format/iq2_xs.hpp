#pragma once
/// \file format/iq2_xs.hpp
/// iq2_xs: 2.3125 bits per weight. Groups of 8 weights are entries of a 512-point grid (9-bit index) with 7 stored
/// sign bits; a 4-bit scale per 16 weights. Byte-identical to GGUF's IQ2_XS (block_iq2_xs). Shared rules:
/// format/iq_common.hpp.
///
///   byte  0    2                                  66               74
///         +----+----------------------------------+----------------+
///         | d  | qs[0] ...                 qs[31] | scales[0..7]   |     74 bytes / 256 weights
///         +----+----------------------------------+----------------+
///   qs[g]: uint16 (little-endian) of group g (weights 8g .. 8g + 7): bits 0..8 grid index, bits 9..15 signs
///          (8th by parity)
///   scales[b]: s of weights 32b .. 32b + 15 in the low nibble, of 32b + 16 .. 32b + 31 in the high nibble
///   weight = d (0.5 + s) / 4 * (+-levels[l]),  levels = {8, 25, 43}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq2_xs : iq_format<iq2_xs>, iq2_codec {
    struct block {
        using format = iq2_xs;
        half_bytes d;
        std::uint8_t qs[64];
        std::uint8_t scales[8];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq2_xs"; }
    /// ggml's type id: a GGUF tensor of type 17 holds these blocks.
    static constexpr std::uint32_t ggml_type = 17;
    /// The codec (and iq2_codec's levels and unit).
    static constexpr const std::uint16_t (&grid)[512] = iq_grids::iq2xs;
    static constexpr int scale_group = 16;
    static constexpr bool parity_signs = true;

    static std::uint16_t scale_bits(const block& b) noexcept { return b.d.bits(); }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = b.d.bits();
        for (int g = 0; g < 32; ++g) {
            const int q = b.qs[2 * g] | b.qs[2 * g + 1] << 8;
            f.index[g] = q & 511;
            f.signs[g] = lowbit::parity_signs(q >> 9);
        }
        for (int s = 0; s < 16; ++s) f.scale[s] = (b.scales[s / 2] >> (4 * (s % 2))) & 15;
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        b.d.set_bits(f.d_bits);
        for (int g = 0; g < 32; ++g) {
            const int q = (f.index[g] & 511) | (f.signs[g] & 127) << 9;
            b.qs[2 * g] = static_cast<std::uint8_t>(q);
            b.qs[2 * g + 1] = static_cast<std::uint8_t>(q >> 8);
        }
        for (int s = 0; s < 8; ++s) b.scales[s] = static_cast<std::uint8_t>((f.scale[2 * s] & 15) | (f.scale[2 * s + 1] & 15) << 4);
    }
};
static_assert(sizeof(iq2_xs::block) == 74, "iq2_xs block must be 74 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
