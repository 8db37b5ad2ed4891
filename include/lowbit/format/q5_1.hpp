#pragma once
/// \file format/q5_1.hpp
/// q5_1: 5-bit asymmetric (scale and min), 32 weights per block. Byte-identical to GGUF's Q5_1 (block_q5_1).
///
///   byte  0      2      4             8                                  24
///         +------+------+-------------+----------------------------------+
///         |  d   |  m   | qh (32 bits)| qs[0] ...                 qs[15] |   24 bytes / 32 weights = 6 bits per weight
///         +------+------+-------------+----------------------------------+
///   code_i (0..31) as in q5_0;  weight i = d * code_i + m
#include "q8_1.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q5_1 {
    struct block {
        using format = q5_1;
        half_bytes d;
        half_bytes m;
        std::uint8_t qh[4];
        std::uint8_t qs[16];
    };
    using activation = q8_1;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q5_1"; }
    /// ggml's type id: a GGUF tensor of type 7 holds these blocks.
    static constexpr std::uint32_t ggml_type = 7;
    /// The codec: weight i = d * (code_i - zero_point) + m, code_i in 0..31 (a nibble of qs, the fifth bit in qh).
    static constexpr int code_bits = 5, zero_point = 0;
    static constexpr bool has_min = true;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d) && is_finite_half(b.m); }
};
static_assert(sizeof(q5_1::block) == 24, "q5_1 block must be 24 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
