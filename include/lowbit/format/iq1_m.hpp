#pragma once
/// \file format/iq1_m.hpp
/// iq1_m: 1.75 bits per weight. Groups of 8 weights are entries of iq1_s's 2048-point grid of -1, 0, 1, each shifted
/// by its own +-1/8; a 3-bit scale per 16 weights; the fp16 super-block scale is split over the scales' top nibbles.
/// Byte-identical to GGUF's IQ1_M (block_iq1_m). Shared rules: format/iq_common.hpp.
///
///   byte  0                       32                 48                  56
///         +-----------------------+------------------+-------------------+
///         | qs[0..31]             | qh[0..15]        | scales[0..7]      |     56 bytes / 256 weights
///         +-----------------------+------------------+-------------------+
///   group g (weights 8g .. 8g + 7), n = qh[g / 2] >> 4 (g % 2) (a nibble): grid index qs[g] | (n & 7) << 8; the
///   shift is -1/8 where n & 8, else +1/8
///   scales as 4 uint16 m[0..3] (little-endian): s of weights 16h .. 16h + 15 = (m[h / 4] >> 3 (h % 4)) & 7;
///   d's fp16 bits = m[0] >> 12 | (m[1] >> 12) << 4 | (m[2] >> 12) << 8 | (m[3] >> 12) << 12
///   weight = d (2s + 1) * (levels[l] +- 1/8),  levels = {-1, 0, 1}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq1_m : iq_format<iq1_m>, iq1_codec {
    struct block {
        using format = iq1_m;
        std::uint8_t qs[32];
        std::uint8_t qh[16];
        std::uint8_t scales[8];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq1_m"; }
    /// ggml's type id: a GGUF tensor of type 29 holds these blocks.
    static constexpr std::uint32_t ggml_type = 29;
    /// The codec (and iq1_codec's grid, levels and unit).
    static constexpr int scale_group = 16, delta_group = 8;

    static std::uint16_t scale_bits(const block& b) noexcept {
        return static_cast<std::uint16_t>(b.scales[1] >> 4 | (b.scales[3] >> 4) << 4 | (b.scales[5] >> 4) << 8 |
                                          (b.scales[7] >> 4) << 12);
    }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = scale_bits(b);
        for (int g = 0; g < 32; ++g) {
            const int n = b.qh[g / 2] >> (4 * (g % 2));
            f.index[g] = b.qs[g] | (n & 7) << 8;
            f.delta[g] = (n >> 3) & 1;
        }
        for (int h = 0; h < 16; ++h) {
            const int m = b.scales[2 * (h / 4)] | b.scales[2 * (h / 4) + 1] << 8;
            f.scale[h] = (m >> (3 * (h % 4))) & 7;
        }
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        for (int k = 0; k < 16; ++k) b.qh[k] = 0;
        for (int g = 0; g < 32; ++g) {
            b.qs[g] = static_cast<std::uint8_t>(f.index[g]);
            const int n = ((f.index[g] >> 8) & 7) | (f.delta[g] & 1) << 3;
            b.qh[g / 2] = static_cast<std::uint8_t>(b.qh[g / 2] | n << (4 * (g % 2)));
        }
        for (int k = 0; k < 4; ++k) {
            int m = ((f.d_bits >> (4 * k)) & 15) << 12;
            for (int j = 0; j < 4; ++j) m |= (f.scale[4 * k + j] & 7) << (3 * j);
            b.scales[2 * k] = static_cast<std::uint8_t>(m);
            b.scales[2 * k + 1] = static_cast<std::uint8_t>(m >> 8);
        }
    }
};
static_assert(sizeof(iq1_m::block) == 56, "iq1_m block must be 56 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
