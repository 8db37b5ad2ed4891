#pragma once
/// \file format/q4_1.hpp
/// q4_1: 4-bit asymmetric (scale and min), 32 weights per block. Byte-identical to GGUF's Q4_1 (block_q4_1).
///
///   byte  0      2      4                                  20
///         +------+------+----------------------------------+
///         |  d   |  m   | qs[0] ...                 qs[15] |   20 bytes / 32 weights = 5 bits per weight
///         +------+------+----------------------------------+
///   d: fp16 scale; m: fp16 min (the block minimum)
///   qs[j] = code_j | code_(j+16) << 4;  weight i = d * code_i + m,  code in 0..15
#include "q8_1.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q4_1 {
    struct block {
        using format = q4_1;
        half_bytes d;
        half_bytes m;
        std::uint8_t qs[16];
    };
    using activation = q8_1;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q4_1"; }
    /// ggml's type id: a GGUF tensor of type 3 holds these blocks.
    static constexpr std::uint32_t ggml_type = 3;
    /// The codec: weight i = d * (code_i - zero_point) + m, code_i in 0..15 (a nibble of qs).
    static constexpr int code_bits = 4, zero_point = 0;
    static constexpr bool has_min = true;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d) && is_finite_half(b.m); }
};
static_assert(sizeof(q4_1::block) == 20, "q4_1 block must be 20 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
