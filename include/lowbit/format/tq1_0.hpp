#pragma once
/// \file format/tq1_0.hpp
/// tq1_0: ternary weights (BitNet b1.58) at 1.6875 bits each: five trits per byte, 256 weights per super-block,
/// one fp16 scale. Byte-identical to GGUF's TQ1_0 (block_tq1_0).
///
///   byte  0                              48          52     54
///         +------------------------------+-----------+------+
///         | qs[0] ...             qs[47] | qh[0..3]  |  d   |     54 bytes / 256 weights = 1.6875 bits per weight
///         +------------------------------+-----------+------+
///   A byte b holds trits t_0 .. t_4 (t_0 the most significant) as the fixed-point fraction of 3^5 it encodes:
///   trit n = ((b * 3^n mod 256) * 3) >> 8, so every byte value decodes to trits in 0..2 (qh holds four per byte;
///   its fifth is written as 0).
///     qs[j],      j < 32:  trit n is weight 32 n + j            (weights 0 .. 159)
///     qs[32 + j], j < 16:  trit n is weight 160 + 16 n + j      (weights 160 .. 239)
///     qh[j],      j < 4:   trit n (n < 4) is weight 240 + 4 n + j  (weights 240 .. 255)
///   weight = d * (trit - 1): -d, 0 or d
/// Writing: byte = ceil(v * 256 / 243) for v = sum of t_n 3^(4 - n) (in 0..242), as ggml.
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct tq1_0 {
    struct block {
        using format = tq1_0;
        std::uint8_t qs[48];
        std::uint8_t qh[4];
        half_bytes d;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "tq1_0"; }
    /// ggml's type id: a GGUF tensor of type 34 holds these blocks.
    static constexpr std::uint32_t ggml_type = 34;
    static constexpr bool has_min = false;
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
    /// Trit n (0..4) of a byte.
    static constexpr int trit(std::uint8_t byte, int n) noexcept {
        constexpr std::uint8_t pow3[5] = {1, 3, 9, 27, 81};
        return (static_cast<std::uint8_t>(byte * pow3[n]) * 3) >> 8;
    }
    /// The trit (0..2) of weight i.
    static constexpr int code(const block& b, int i) noexcept {
        if (i < 160) return trit(b.qs[i % 32], i / 32);
        if (i < 240) return trit(b.qs[32 + (i - 160) % 16], (i - 160) / 16);
        return trit(b.qh[(i - 240) % 4], (i - 240) / 4);
    }
};
static_assert(sizeof(tq1_0::block) == 54, "tq1_0 block must be 54 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
