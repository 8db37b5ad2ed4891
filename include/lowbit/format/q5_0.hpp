#pragma once
/// \file format/q5_0.hpp
/// q5_0: 5-bit symmetric, 32 weights per block, one fp16 scale. Byte-identical to GGUF's Q5_0 (block_q5_0).
///
///   byte  0      2             6                                  22
///         +------+-------------+----------------------------------+
///         |  d   | qh (32 bits)| qs[0] ...                 qs[15] |   22 bytes / 32 weights = 5.5 bits per weight
///         +------+-------------+----------------------------------+
///   code_i (0..31): low 4 bits from qs as in q4_0 (qs[j] low nibble = weight j, high nibble = weight j+16),
///                   bit 4 = bit i of qh read as a little-endian uint32
///   weight i = d * (code_i - 16)
#include "q8_0.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q5_0 {
    struct block {
        using format = q5_0;
        half_bytes d;
        std::uint8_t qh[4];
        std::uint8_t qs[16];
    };
    using activation = q8_0;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q5_0"; }
    /// ggml's type id: a GGUF tensor of type 6 holds these blocks.
    static constexpr std::uint32_t ggml_type = 6;
    /// The codec: weight i = d * (code_i - zero_point), code_i in 0..31 (a nibble of qs, the fifth bit in qh).
    static constexpr int code_bits = 5, zero_point = 16;
    static constexpr bool has_min = false;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
};
static_assert(sizeof(q5_0::block) == 22, "q5_0 block must be 22 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
