#pragma once
/// \file format/iq3_s.hpp
/// iq3_s: 3.4375 bits per weight. Groups of 4 weights are entries of a 512-point grid (9-bit index); all sign bits
/// stored; a 4-bit scale per 32 weights. Byte-identical to GGUF's IQ3_S (block_iq3_s). Shared rules:
/// format/iq_common.hpp.
///
///   byte  0    2                 66          74                 106          110
///         +----+-----------------+-----------+------------------+------------+
///         | d  | qs[0..63]       | qh[0..7]  | signs[0..31]     | scales[0..3]|     110 bytes / 256 weights
///         +----+-----------------+-----------+------------------+------------+
///   weights 4k .. 4k + 3: grid index qs[k] | ((qh[k / 8] >> (k % 8)) & 1) << 8
///   signs[g] bit j: weight 8g + j negative
///   scales[b / 2] >> 4 (b % 2): s of sub-block b (weights 32b .. 32b + 31)
///   weight = d (1 + 2s) * (+-levels[l]),  levels = {1, 3, 5, 7, 9, 11, 13, 15}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq3_s : iq_format<iq3_s> {
    struct block {
        using format = iq3_s;
        half_bytes d;
        std::uint8_t qs[64];
        std::uint8_t qh[8];
        std::uint8_t signs[32];
        std::uint8_t scales[4];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq3_s"; }
    /// ggml's type id: a GGUF tensor of type 21 holds these blocks.
    static constexpr std::uint32_t ggml_type = 21;
    /// The codec.
    static constexpr const std::uint16_t (&grid)[512] = iq_grids::iq3s;
    static constexpr int grid_width = 4, level_bits = 4, scale_group = 32, delta_group = 0;
    static constexpr std::int8_t levels[8] = {1, 3, 5, 7, 9, 11, 13, 15};
    static constexpr bool parity_signs = false;
    static constexpr float dot_factor = 1.0f;
    static float unit(float d, int s) noexcept { return d * static_cast<float>(1 + 2 * s); }

    static std::uint16_t scale_bits(const block& b) noexcept { return b.d.bits(); }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = b.d.bits();
        for (int k = 0; k < 64; ++k) f.index[k] = b.qs[k] | ((b.qh[k / 8] >> (k % 8)) & 1) << 8;
        for (int g = 0; g < 32; ++g) f.signs[g] = b.signs[g];
        for (int s = 0; s < 8; ++s) f.scale[s] = (b.scales[s / 2] >> (4 * (s % 2))) & 15;
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        b.d.set_bits(f.d_bits);
        for (int k = 0; k < 8; ++k) b.qh[k] = 0;
        for (int k = 0; k < 64; ++k) {
            b.qs[k] = static_cast<std::uint8_t>(f.index[k]);
            b.qh[k / 8] = static_cast<std::uint8_t>(b.qh[k / 8] | ((f.index[k] >> 8) & 1) << (k % 8));
        }
        for (int g = 0; g < 32; ++g) b.signs[g] = static_cast<std::uint8_t>(f.signs[g]);
        for (int s = 0; s < 4; ++s) b.scales[s] = static_cast<std::uint8_t>((f.scale[2 * s] & 15) | (f.scale[2 * s + 1] & 15) << 4);
    }
};
static_assert(sizeof(iq3_s::block) == 110, "iq3_s block must be 110 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
