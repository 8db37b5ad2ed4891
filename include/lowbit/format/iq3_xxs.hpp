#pragma once
/// \file format/iq3_xxs.hpp
/// iq3_xxs: 3.0625 bits per weight. Groups of 4 weights are entries of a 256-point grid (8-bit index); 7 stored
/// sign bits per 8 weights; a 4-bit scale per 32 weights. Byte-identical to GGUF's IQ3_XXS (block_iq3_xxs). Shared
/// rules: format/iq_common.hpp.
///
///   byte  0    2                                  66                                98
///         +----+----------------------------------+----------------------------------+
///         | d  | qs[0] ...                 qs[63] | scales_signs[0..31]              |     98 bytes / 256 weights
///         +----+----------------------------------+----------------------------------+
///   qs[k]: grid index of weights 4k .. 4k + 3
///   sub-block b (weights 32b .. 32b + 31): uint32 w = scales_signs[4b .. 4b + 3] (little-endian): bits 7l .. 7l + 6
///   = signs of weights 32b + 8l .. + 7 (8th by parity), bits 28..31 = s
///   weight = d (0.5 + s) / 2 * (+-levels[l]),  levels = {4, 12, 20, 28, 36, 44, 52, 62}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq3_xxs : iq_format<iq3_xxs> {
    struct block {
        using format = iq3_xxs;
        half_bytes d;
        std::uint8_t qs[64];
        std::uint8_t scales_signs[32];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq3_xxs"; }
    /// ggml's type id: a GGUF tensor of type 18 holds these blocks.
    static constexpr std::uint32_t ggml_type = 18;
    /// The codec.
    static constexpr const std::uint16_t (&grid)[256] = iq_grids::iq3xxs;
    static constexpr int grid_width = 4, level_bits = 4, scale_group = 32, delta_group = 0;
    static constexpr std::int8_t levels[8] = {4, 12, 20, 28, 36, 44, 52, 62};
    static constexpr bool parity_signs = true;
    static constexpr float dot_factor = 0.25f;
    static float unit(float d, int s) noexcept { return d * (0.5f + static_cast<float>(s)) * 0.5f; }

    static std::uint16_t scale_bits(const block& b) noexcept { return b.d.bits(); }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = b.d.bits();
        for (int k = 0; k < 64; ++k) f.index[k] = b.qs[k];
        for (int s = 0; s < 8; ++s) {
            const std::uint32_t w = detail::load_le32(b.scales_signs + 4 * s);
            f.scale[s] = static_cast<int>(w >> 28);
            for (int l = 0; l < 4; ++l) f.signs[4 * s + l] = lowbit::parity_signs(static_cast<int>(w >> (7 * l)));
        }
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        b.d.set_bits(f.d_bits);
        for (int k = 0; k < 64; ++k) b.qs[k] = static_cast<std::uint8_t>(f.index[k]);
        for (int s = 0; s < 8; ++s) {
            std::uint32_t w = static_cast<std::uint32_t>(f.scale[s] & 15) << 28;
            for (int l = 0; l < 4; ++l) w |= static_cast<std::uint32_t>(f.signs[4 * s + l] & 127) << (7 * l);
            detail::store_le32(b.scales_signs + 4 * s, w);
        }
    }
};
static_assert(sizeof(iq3_xxs::block) == 98, "iq3_xxs block must be 98 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
