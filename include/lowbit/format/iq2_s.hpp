#pragma once
/// \file format/iq2_s.hpp
/// iq2_s: 2.5625 bits per weight. Groups of 8 weights are entries of a 1024-point grid (10-bit index) with all 8
/// sign bits stored; a 4-bit scale per 16 weights. Byte-identical to GGUF's IQ2_S (block_iq2_s). Shared rules:
/// format/iq_common.hpp.
///
///   byte  0    2                34                 66          74           82
///         +----+----------------+------------------+-----------+------------+
///         | d  | qs[0..31]      | signs[0..31]     | qh[0..7]  | scales[0..7]|     82 bytes / 256 weights
///         +----+----------------+------------------+-----------+------------+
///   group g (weights 8g .. 8g + 7): grid index qs[g] | ((qh[g / 4] >> 2 (g % 4)) & 3) << 8; signs[g] bit j: weight
///   8g + j negative
///   scales[b]: s of weights 32b .. 32b + 15 in the low nibble, of 32b + 16 .. 32b + 31 in the high nibble
///   weight = d (0.5 + s) / 4 * (+-levels[l]),  levels = {8, 25, 43}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq2_s : iq_format<iq2_s>, iq2_codec {
    struct block {
        using format = iq2_s;
        half_bytes d;
        std::uint8_t qs[32];
        std::uint8_t signs[32];
        std::uint8_t qh[8];
        std::uint8_t scales[8];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq2_s"; }
    /// ggml's type id: a GGUF tensor of type 22 holds these blocks.
    static constexpr std::uint32_t ggml_type = 22;
    /// The codec (and iq2_codec's levels and unit).
    static constexpr const std::uint16_t (&grid)[1024] = iq_grids::iq2s;
    static constexpr int scale_group = 16;
    static constexpr bool parity_signs = false;

    static std::uint16_t scale_bits(const block& b) noexcept { return b.d.bits(); }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = b.d.bits();
        for (int g = 0; g < 32; ++g) {
            f.index[g] = b.qs[g] | ((b.qh[g / 4] >> (2 * (g % 4))) & 3) << 8;
            f.signs[g] = b.signs[g];
        }
        for (int s = 0; s < 16; ++s) f.scale[s] = (b.scales[s / 2] >> (4 * (s % 2))) & 15;
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        b.d.set_bits(f.d_bits);
        for (int k = 0; k < 8; ++k) b.qh[k] = 0;
        for (int g = 0; g < 32; ++g) {
            b.qs[g] = static_cast<std::uint8_t>(f.index[g]);
            b.qh[g / 4] = static_cast<std::uint8_t>(b.qh[g / 4] | ((f.index[g] >> 8) & 3) << (2 * (g % 4)));
            b.signs[g] = static_cast<std::uint8_t>(f.signs[g]);
        }
        for (int s = 0; s < 8; ++s) b.scales[s] = static_cast<std::uint8_t>((f.scale[2 * s] & 15) | (f.scale[2 * s + 1] & 15) << 4);
    }
};
static_assert(sizeof(iq2_s::block) == 82, "iq2_s block must be 82 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
