#pragma once
/// \file format/iq2_xxs.hpp
/// iq2_xxs: 2.0625 bits per weight. Groups of 8 weights are entries of a 256-point grid (8-bit index) with 7 stored
/// sign bits; a 4-bit scale per 32 weights. Byte-identical to GGUF's IQ2_XXS (block_iq2_xxs). Shared rules:
/// format/iq_common.hpp.
///
///   byte  0    2                                                          66
///         +----+-----------------------------------------------------------+
///         | d  | sub-block 0: qs[0..7] | sub-block 1: qs[8..15] | ... (8)  |     66 bytes / 256 weights
///         +----+-----------------------------------------------------------+
///   sub-block b (weights 32b .. 32b + 31), 8 bytes:
///     bytes 0..3   grid index of group l = 4b + 0..3 (8 weights each)
///     bytes 4..7   uint32 w (little-endian): bits 7l .. 7l + 6 = signs of group l (8th by parity), bits 28..31 = s
///   weight = d (0.5 + s) / 4 * (+-levels[l]),  levels = {8, 25, 43}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq2_xxs : iq_format<iq2_xxs>, iq2_codec {
    struct block {
        using format = iq2_xxs;
        half_bytes d;
        std::uint8_t qs[64];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq2_xxs"; }
    /// ggml's type id: a GGUF tensor of type 16 holds these blocks.
    static constexpr std::uint32_t ggml_type = 16;
    /// The codec (and iq2_codec's levels and unit).
    static constexpr const std::uint16_t (&grid)[256] = iq_grids::iq2xxs;
    static constexpr int scale_group = 32;
    static constexpr bool parity_signs = true;

    static std::uint16_t scale_bits(const block& b) noexcept { return b.d.bits(); }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = b.d.bits();
        for (int s = 0; s < 8; ++s) {
            const std::uint32_t w = detail::load_le32(b.qs + 8 * s + 4);
            f.scale[s] = static_cast<int>(w >> 28);
            for (int l = 0; l < 4; ++l) {
                f.index[4 * s + l] = b.qs[8 * s + l];
                f.signs[4 * s + l] = lowbit::parity_signs(static_cast<int>(w >> (7 * l)));
            }
        }
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        b.d.set_bits(f.d_bits);
        for (int s = 0; s < 8; ++s) {
            std::uint32_t w = static_cast<std::uint32_t>(f.scale[s] & 15) << 28;
            for (int l = 0; l < 4; ++l) {
                b.qs[8 * s + l] = static_cast<std::uint8_t>(f.index[4 * s + l]);
                w |= static_cast<std::uint32_t>(f.signs[4 * s + l] & 127) << (7 * l);
            }
            detail::store_le32(b.qs + 8 * s + 4, w);
        }
    }
};
static_assert(sizeof(iq2_xxs::block) == 66, "iq2_xxs block must be 66 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
