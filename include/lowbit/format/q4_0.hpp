#pragma once
/// \file format/q4_0.hpp
/// q4_0: 4-bit symmetric, 32 weights per block, one fp16 scale. Byte-identical to GGUF's Q4_0 (block_q4_0).
///
///   byte  0      2                                  18
///         +------+----------------------------------+
///         |  d   | qs[0] ...                 qs[15] |     18 bytes / 32 weights = 4.5 bits per weight
///         +------+----------------------------------+
///   qs[j] = (code of weight j) | (code of weight j + 16) << 4     -- low nibbles hold weights 0..15,
///                                                                     high nibbles weights 16..31
///   weight i = d * (code_i - 8),  code in 0..15
#include "q8_0.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q4_0 {
    struct block {
        using format = q4_0;
        half_bytes d;
        std::uint8_t qs[16];
    };
    using activation = q8_0;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q4_0"; }
    /// ggml's type id: a GGUF tensor of type 2 holds these blocks.
    static constexpr std::uint32_t ggml_type = 2;
    /// The codec: weight i = d * (code_i - zero_point), code_i in 0..15 (a nibble of qs).
    static constexpr int code_bits = 4, zero_point = 8;
    static constexpr bool has_min = false;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
};
static_assert(sizeof(q4_0::block) == 18, "q4_0 block must be 18 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
