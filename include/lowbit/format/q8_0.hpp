#pragma once
/// \file format/q8_0.hpp
/// q8_0: 8-bit symmetric, 32 weights per block, one fp16 scale. Byte-identical to GGUF's Q8_0 (block_q8_0).
/// Used both as a weight format and as the activation format for q8_0, q4_0 and q5_0 weights.
///
///   byte  0      2                                   34
///         +------+-----------------------------------+
///         |  d   | qs[0] qs[1] ...            qs[31] |     34 bytes / 32 weights = 8.5 bits per weight
///         +------+-----------------------------------+
///   d:  fp16 scale, little-endian
///   qs: int8 codes; weight i = d * qs[i]
#include "../half.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q8_0 {
    struct block {
        using format = q8_0;
        half_bytes d;
        std::int8_t qs[32];
    };
    using activation = q8_0;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q8_0"; }
    /// ggml's type id: a GGUF tensor of type 8 holds these blocks.
    static constexpr std::uint32_t ggml_type = 8;
    /// The codec: weight i = d * (code_i - zero_point), code_i in -128..127 (signed bytes).
    static constexpr int code_bits = 8, zero_point = 0;
    static constexpr bool has_min = false;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
};
static_assert(sizeof(q8_0::block) == 34, "q8_0 block must be 34 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
