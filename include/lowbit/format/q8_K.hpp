#pragma once
/// \file format/q8_K.hpp
/// q8_K: 8-bit symmetric activations for the K-quant weights, 256 values per super-block, one float32 scale and
/// the sums of each 16-value group. Byte-identical to ggml's block_q8_K.
///
///   byte  0      4                                   260                           292
///         +------+-----------------------------------+-----------------------------+
///         |  d   | qs[0] qs[1] ...           qs[255] | bsums[0] ...      bsums[15] |   292 bytes / 256 values
///         +------+-----------------------------------+-----------------------------+   = 9.125 bits per value
///   d:     float32 scale, little-endian
///   qs:    int8 codes in -127..127; value i = d * qs[i]
///   bsums: int16 little-endian; bsums[g] = qs[16g] + ... + qs[16g + 15]. The K dot products read these sums
///          (for their mins and code offsets) instead of re-adding qs, so they must match qs.
#include "kquant_common.hpp"

LOWBIT_NAMESPACE_BEGIN

/// An int16 as two little-endian bytes (alignment 1).
struct int16_bytes {
    std::uint8_t b[2];

    constexpr std::int16_t value() const noexcept { return static_cast<std::int16_t>(b[0] | (b[1] << 8)); }
    constexpr void set(std::int16_t v) noexcept {
        const auto u = static_cast<std::uint16_t>(v);
        b[0] = static_cast<std::uint8_t>(u & 0xFF);
        b[1] = static_cast<std::uint8_t>(u >> 8);
    }
};
static_assert(sizeof(int16_bytes) == 2 && alignof(int16_bytes) == 1, "int16_bytes must be two packed bytes");

struct q8_K {
    struct block {
        using format = q8_K;
        float_bytes d;
        std::int8_t qs[256];
        int16_bytes bsums[16];
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = 256;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q8_K"; }
    /// ggml's type id: a GGUF tensor of type 15 holds these blocks.
    static constexpr std::uint32_t ggml_type = 15;
    /// False if the float scale is Inf or NaN.
    static bool finite_scales(const block& b) noexcept { return (float_to_bits(b.d.value()) & 0x7F800000u) != 0x7F800000u; }

    /// Test hooks (see format/kquant_common.hpp): d = 1 (with codes cut to |q| <= 4, so every dot term is an
    /// integer small enough to add exactly in float) or a random finite d; bsums always match qs.
    template <class Rng>
    static void set_unit_scales(block& b, Rng&) {
        b.d.set(1.0f);
        for (auto& q : b.qs) q = static_cast<std::int8_t>(q % 5);  // |q| <= 4 keeps every dot term small
        fill_bsums(b);
    }
    template <class Rng>
    static void set_random_scales(block& b, Rng& rng) {
        b.d.set(fp16_to_fp32(detail::random_test_scale(rng)));
        fill_bsums(b);
    }
    /// bsums from qs: the precondition of every dot with q8_K activations.
    static void fill_bsums(block& b) noexcept {
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += b.qs[16 * g + j];
            b.bsums[g].set(static_cast<std::int16_t>(sum));
        }
    }
};
static_assert(sizeof(q8_K::block) == 292, "q8_K block must be 292 bytes, as in ggml");

LOWBIT_NAMESPACE_END
