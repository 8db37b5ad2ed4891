#pragma once
/// \file format/iq_common.hpp
/// What GGUF's codebook (lattice) formats share: iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq3_s, iq1_s, iq1_m.
///
/// 256 weights per super-block, q8_K activations. The weights come in groups of `grid_width` (8, or 4 for iq3):
/// each group is one entry of the format's fixed grid (format/iq_grids.hpp), whose elements are level indices into
/// the format's `levels`. A sign bit per weight (iq2, iq3), or a shift of +-1/8 per group (iq1, whose levels are
/// -1, 0, 1), completes the value. A sub-block scale field s per `scale_group` weights multiplies an fp16 super-block
/// scale d:
///   weight = unit(d, s) * v,   v = +-levels[l] (or 8 levels[l] +- 1 for iq1),
/// unit(d, s) = d (2s + 1) * dot_factor, computed in float exactly as gguf does (the format's unit()).
/// The dot with q8_K activations is exact in integers: isum = sum over sub-blocks of (2s + 1) * sum v q, and the
/// super-block adds float(isum) * (d * d_a); the row's sum is multiplied by dot_factor (a power of two) at the end.
///
/// Where a format stores 7 sign bits per 8 weights (iq2_xxs, iq2_xs, iq3_xxs) the eighth is implied: the number of
/// negative weights of the 8 is even (gguf's ksigns_iq2xs table, which lowbit computes: parity_signs).
///
/// A format reads and writes its blocks through `iq_fields`, the unpacked view (unpack / pack are exact inverses on
/// every field the format stores); every bit pattern of a block is valid (indices cannot leave their grid).
#include "iq_grids.hpp"
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

/// A codebook block's fields, unpacked.
struct iq_fields {
    std::uint16_t d_bits = 0;  // the fp16 super-block scale
    int scale[16] = {};        // sub-block scale fields s (0..15; 0..7 for iq1), one per scale_group weights
    int index[64] = {};        // grid indices, one per grid_width weights
    int signs[32] = {};        // sign bits of weights 8g .. 8g + 7 (bit j: weight 8g + j is negative)
    int delta[32] = {};        // iq1: 1 where the group's shift is -1/8, one per delta_group weights
};

/// The 8 sign bits of 7 stored ones: the eighth makes the count of negatives even (gguf's ksigns_iq2xs[seven]).
constexpr int parity_signs(int seven) noexcept {
    int n = 0;
    for (int b = seven & 127; b; b &= b - 1) ++n;
    return (seven & 127) | (n & 1) << 7;
}

namespace detail {
inline std::uint32_t load_le32(const std::uint8_t* p) noexcept {
    return static_cast<std::uint32_t>(p[0] | p[1] << 8 | p[2] << 16) | static_cast<std::uint32_t>(p[3]) << 24;
}
inline void store_le32(std::uint8_t* p, std::uint32_t v) noexcept {
    for (int k = 0; k < 4; ++k) p[k] = static_cast<std::uint8_t>(v >> (8 * k));
}
}  // namespace detail

/// The codec the 2-bit formats share (iq2_xxs, iq2_xs, iq2_s): weight = d (0.5 + s) / 4 * (+-level).
struct iq2_codec {
    static constexpr int grid_width = 8, level_bits = 2, delta_group = 0;
    static constexpr std::int8_t levels[3] = {8, 25, 43};
    static constexpr float dot_factor = 0.125f;
    static float unit(float d, int s) noexcept { return d * (0.5f + static_cast<float>(s)) * 0.25f; }
};

/// The codec iq1_s and iq1_m share: iq1_s's grid of -1, 0, 1, weight = d (2s + 1) (level +- 1/8), which lowbit
/// computes as d (2s + 1) / 8 * (8 level +- 1), the same float.
struct iq1_codec {
    static constexpr const std::uint16_t (&grid)[2048] = iq_grids::iq1s;
    static constexpr int grid_width = 8, level_bits = 2;
    static constexpr std::int8_t levels[3] = {-1, 0, 1};
    static constexpr bool parity_signs = false;
    static constexpr float dot_factor = 0.125f;
    static float unit(float d, int s) noexcept { return d * static_cast<float>(2 * s + 1) * 0.125f; }
};

/// The members every codebook format derives (CRTP; the format defines scale_bits): the super-block scale as a float, and the test hooks of
/// format/kquant_common.hpp (unit: d = 1, every s = 0, so every term is an integer; random: a random finite d).
template <class Fmt>
struct iq_format {
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr bool has_min = false;
    // Members are templates on the block type: Fmt is incomplete where this base is instantiated.
    template <class Block>
    static float scale(const Block& b) noexcept { return fp16_to_fp32(Fmt::scale_bits(b)); }
    template <class Block>
    static bool finite_scales(const Block& b) noexcept { return (Fmt::scale_bits(b) & 0x7C00) != 0x7C00; }
    template <class Block>
    static void set_scale_bits(Block& b, std::uint16_t bits) noexcept {
        iq_fields f;
        Fmt::unpack(b, f);
        f.d_bits = bits;
        Fmt::pack(f, b);
    }
    template <class Block, class Rng>
    static void set_unit_scales(Block& b, Rng&) noexcept {
        iq_fields f;
        Fmt::unpack(b, f);
        f.d_bits = 0x3C00;
        for (int& s : f.scale) s = 0;
        Fmt::pack(f, b);
    }
    template <class Block, class Rng>
    static void set_random_scales(Block& b, Rng& rng) {
        set_scale_bits(b, detail::random_test_scale(rng));
    }
};

LOWBIT_NAMESPACE_END
