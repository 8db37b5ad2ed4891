#pragma once
/// \file format/iq4_nl.hpp
/// iq4_nl: 4-bit non-linear, 32 weights per block, one fp16 scale; each 4-bit code indexes a fixed table of 16
/// int8 values, denser near zero (where most weights are) than q4_0's evenly spaced levels. Byte-identical to
/// GGUF's IQ4_NL (block_iq4_nl).
///
///   byte  0      2                                  18
///         +------+----------------------------------+
///         |  d   | qs[0] ...                 qs[15] |     18 bytes / 32 weights = 4.5 bits per weight
///         +------+----------------------------------+
///   qs[j] = (code of weight j) | (code of weight j + 16) << 4     -- as q4_0: low nibbles weights 0..15,
///                                                                     high nibbles weights 16..31
///   weight i = d * values[code_i]
#include "q8_0.hpp"

LOWBIT_NAMESPACE_BEGIN

struct iq4_nl {
    struct block {
        using format = iq4_nl;
        half_bytes d;
        std::uint8_t qs[16];
    };
    using activation = q8_0;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "iq4_nl"; }
    /// ggml's type id: a GGUF tensor of type 20 holds these blocks.
    static constexpr std::uint32_t ggml_type = 20;
    /// The codec: weight i = d * values[code_i] (ggml's kvalues_iq4nl), ascending.
    static constexpr std::int8_t values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                               1,    13,   25,  38,  53,  69,  89,  113};
    static constexpr bool has_min = false;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
    /// The block's scale as a float.
    static float scale(const block& b) noexcept { return load_half(b.d); }
};
static_assert(sizeof(iq4_nl::block) == 18, "iq4_nl block must be 18 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
