#pragma once
/// \file format/kquant_common.hpp
/// What the K-quant format headers (q2_K ... q6_K, q8_K) share.
///
/// Every K format stores 256 weights per super-block, split into sub-blocks of 16 or 32 weights that each have a
/// small integer scale (and, for q2_K, q4_K and q5_K, a small integer min) which an fp16 super-block scale
/// multiplies. Their activation format is q8_K.
///
/// Test hooks: each K format struct has `set_unit_scales(block&, rng)` and `set_random_scales(block&, rng)`, for
/// generic kernel tests that fill blocks with random bytes and then need finite scales:
///   - unit: super-block scales 1 and integer sub-block scales (and mins) of 1, so every dot term is an integer;
///   - random: finite super-block scales of either sign in [2^-8, 4); the random sub-block scale bytes are kept
///     (every bit pattern of them is a valid scale).
/// rng is any callable returning uniformly random unsigned integers (e.g. std::mt19937).
#include "../half.hpp"

LOWBIT_NAMESPACE_BEGIN

/// Weights (or activations) per K-quant super-block: ggml's QK_K.
constexpr std::size_t qk_k = 256;

namespace detail {

/// fp16 bits of a random finite value of either sign in [2^-8, 4).
template <class Rng>
std::uint16_t random_test_scale(Rng& rng) {
    const auto sign = static_cast<std::uint16_t>(rng() & 0x8000u);
    const auto exponent = static_cast<std::uint16_t>((rng() % 10 + 7) << 10);
    return static_cast<std::uint16_t>(sign | exponent | (rng() & 0x3FFu));
}

/// Sets every byte of a packed scale array to `pattern` (the unit-scale hooks).
template <std::size_t N>
void fill_bytes(std::uint8_t (&bytes)[N], std::uint8_t pattern) noexcept {
    for (auto& b : bytes) b = pattern;
}

}  // namespace detail
LOWBIT_NAMESPACE_END
