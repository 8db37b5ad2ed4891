#pragma once
/// \file format/q8_1.hpp
/// q8_1: 8-bit symmetric activations with a precomputed block sum, 32 values per block. Byte-identical to
/// ggml's block_q8_1. The activation format for q4_1 and q5_1 weights, whose min term needs sum(x).
///
///   byte  0      2      4                                   36
///         +------+------+-----------------------------------+
///         |  d   |  s   | qs[0] qs[1] ...            qs[31] |   36 bytes / 32 values = 9 bits per value
///         +------+------+-----------------------------------+
///   d:  fp16 scale;  s: fp16 of d * sum(qs) (the block sum of the dequantized values)
///   qs: int8 codes; value i = d * qs[i]
#include "../half.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q8_1 {
    struct block {
        using format = q8_1;
        half_bytes d;
        half_bytes s;
        std::int8_t qs[32];
    };
    using activation = q8_1;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q8_1"; }
    /// ggml's type id: a GGUF tensor of type 9 holds these blocks.
    static constexpr std::uint32_t ggml_type = 9;
    /// The codec: weight i = d * (code_i - zero_point), code_i in -128..127 (signed bytes; s is not a min).
    static constexpr int code_bits = 8, zero_point = 0;
    static constexpr bool has_min = false;
    /// False if a stored scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d) && is_finite_half(b.s); }
};
static_assert(sizeof(q8_1::block) == 36, "q8_1 block must be 36 bytes, as in ggml");

LOWBIT_NAMESPACE_END
