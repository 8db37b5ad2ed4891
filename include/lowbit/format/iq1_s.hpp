#pragma once
/// \file format/iq1_s.hpp
/// iq1_s: 1.5625 bits per weight. Groups of 8 weights are entries of a 2048-point grid (11-bit index) of -1, 0, 1,
/// shifted by +-1/8 per 32 weights; a 3-bit scale per 32 weights; no sign bits. Byte-identical to GGUF's IQ1_S
/// (block_iq1_s). Shared rules: format/iq_common.hpp.
///
///   byte  0    2                                  34                           50
///         +----+----------------------------------+----------------------------+
///         | d  | qs[0] ...                 qs[31] | qh[0..7] (uint16 each)     |     50 bytes / 256 weights
///         +----+----------------------------------+----------------------------+
///   sub-block b (weights 32b .. 32b + 31), h = qh[b] (little-endian):
///     group g = 4b + l: grid index qs[g] | ((h >> 3l) & 7) << 8
///     s = (h >> 12) & 7, the shift is -1/8 where bit 15 is set, else +1/8
///   weight = d (2s + 1) * (levels[l] +- 1/8),  levels = {-1, 0, 1}
#include "iq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq1_s : iq_format<iq1_s>, iq1_codec {
    struct block {
        using format = iq1_s;
        half_bytes d;
        std::uint8_t qs[32];
        std::uint8_t qh[16];
    };
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq1_s"; }
    /// ggml's type id: a GGUF tensor of type 19 holds these blocks.
    static constexpr std::uint32_t ggml_type = 19;
    /// The codec (and iq1_codec's grid, levels and unit).
    static constexpr int scale_group = 32, delta_group = 32;

    static std::uint16_t scale_bits(const block& b) noexcept { return b.d.bits(); }
    static void unpack(const block& b, iq_fields& f) noexcept {
        f.d_bits = b.d.bits();
        for (int s = 0; s < 8; ++s) {
            const int h = b.qh[2 * s] | b.qh[2 * s + 1] << 8;
            for (int l = 0; l < 4; ++l) f.index[4 * s + l] = b.qs[4 * s + l] | ((h >> (3 * l)) & 7) << 8;
            f.scale[s] = (h >> 12) & 7;
            f.delta[s] = h >> 15;
        }
    }
    static void pack(const iq_fields& f, block& b) noexcept {
        b.d.set_bits(f.d_bits);
        for (int s = 0; s < 8; ++s) {
            int h = (f.scale[s] & 7) << 12 | (f.delta[s] & 1) << 15;
            for (int l = 0; l < 4; ++l) {
                b.qs[4 * s + l] = static_cast<std::uint8_t>(f.index[4 * s + l]);
                h |= ((f.index[4 * s + l] >> 8) & 7) << (3 * l);
            }
            b.qh[2 * s] = static_cast<std::uint8_t>(h);
            b.qh[2 * s + 1] = static_cast<std::uint8_t>(h >> 8);
        }
    }
};
static_assert(sizeof(iq1_s::block) == 50, "iq1_s block must be 50 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
