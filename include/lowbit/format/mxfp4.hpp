#pragma once
/// \file format/mxfp4.hpp
/// mxfp4: OCP Microscaling FP4, 32 weights per block: a shared power-of-two scale (E8M0) and one FP4 (E2M1)
/// value per weight. Byte-identical to GGUF's MXFP4 (block_mxfp4; gpt-oss ships its expert weights in it).
///
///   byte  0   1                                  17
///         +---+----------------------------------+
///         | e | qs[0] ...                 qs[15] |     17 bytes / 32 weights = 4.25 bits per weight
///         +---+----------------------------------+
///   qs[j] = (code of weight j) | (code of weight j + 16) << 4     -- as q4_0: low nibbles weights 0..15
///   code: E2M1 (sign, 2 exponent bits, 1 mantissa bit): +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}. As ggml, lowbit keeps
///         the doubled values (integers) and halves the scale:
///   weight i = d * values[code_i],   d = 2^(e - 128)  (exact: 2^-128, a float subnormal, up to 2^127)
/// Every byte pattern is a finite block: the E8M0 NaN encoding (e = 255) is read as 2^127, as ggml does.
#include "q8_0.hpp"

LOWBIT_NAMESPACE_BEGIN

struct mxfp4 {
    struct block {
        using format = mxfp4;
        std::uint8_t e;
        std::uint8_t qs[16];
    };
    using activation = q8_0;
    static constexpr std::size_t block_size = 32;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "mxfp4"; }
    /// ggml's type id: a GGUF tensor of type 39 holds these blocks.
    static constexpr std::uint32_t ggml_type = 39;
    /// The codec: weight i = d * values[code_i] (ggml's kvalues_mxfp4: E2M1 doubled; code 8 is -0).
    static constexpr std::int8_t values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    static constexpr bool has_min = false;
    static bool finite_scales(const block&) noexcept { return true; }
    /// The bits of the float 2^(e - 128): a subnormal for e = 0 and 1.
    static constexpr std::uint32_t scale_bits(std::uint8_t e) noexcept {
        return e < 2 ? std::uint32_t{0x00200000} << e : static_cast<std::uint32_t>(e - 1) << 23;
    }
    /// The block's scale d = 2^(e - 128) as a float.
    static float scale(const block& b) noexcept { return bits_to_float(scale_bits(b.e)); }
};
static_assert(sizeof(mxfp4::block) == 17, "mxfp4 block must be 17 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
