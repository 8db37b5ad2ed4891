#pragma once
/// \file format/tq2_0.hpp
/// tq2_0: ternary weights (BitNet b1.58) at 2 bits each, 256 per super-block, one fp16 scale. Byte-identical to
/// GGUF's TQ2_0 (block_tq2_0).
///
///   byte  0                                    64     66
///         +------------------------------------+------+
///         | qs[0] ...                   qs[63] |  d   |     66 bytes / 256 weights = 2.0625 bits per weight
///         +------------------------------------+------+
///   weight 128 n + 32 k + m (n in 0..1, k in 0..3, m in 0..31) has code (qs[32 n + m] >> 2 k) & 3
///   weight = d * (code - 1): -d, 0, d (code 3, which gguf never writes, reads as 2 d)
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct tq2_0 {
    struct block {
        using format = tq2_0;
        std::uint8_t qs[64];
        half_bytes d;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "tq2_0"; }
    /// ggml's type id: a GGUF tensor of type 35 holds these blocks.
    static constexpr std::uint32_t ggml_type = 35;
    static constexpr bool has_min = false;
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
    /// The code (0..3) of weight i.
    static constexpr int code(const block& b, int i) noexcept {
        return (b.qs[32 * (i / 128) + i % 32] >> (2 * (i / 32 % 4))) & 3;
    }
};
static_assert(sizeof(tq2_0::block) == 66, "tq2_0 block must be 66 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
