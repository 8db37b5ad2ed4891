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

#include <cstring>

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

/// Fields of `Width` bits packed into bytes the GGUF K way: a group of Span bytes holds 8 / Width consecutive
/// runs of Span weights, run k in bits Width*k of every byte. Weight i: group g = i / (Span * 8 / Width), then
/// r = i % (Span * 8 / Width) is byte Span*g + r % Span, field r / Span.
template <int Width, int Span>
struct bit_plane {
    static constexpr int per_byte = 8 / Width;
    static constexpr unsigned mask = (1u << Width) - 1u;

    static int get(const std::uint8_t* bytes, int i) noexcept {
        const int g = i / (Span * per_byte), r = i % (Span * per_byte);
        return (bytes[Span * g + r % Span] >> (Width * (r / Span))) & mask;
    }
    /// ORs every weight's field, shifted left by Shift, into u[0 .. qk_k - 1]: get for a whole block, run by run.
    template <int Shift = 0>
    static void or_all(const std::uint8_t* bytes, std::uint8_t* u) noexcept {
        for (int g = 0; g < static_cast<int>(qk_k) / (Span * per_byte); ++g)
            for (int k = 0; k < per_byte; ++k)
                for (int r = 0; r < Span; ++r)
                    u[Span * (per_byte * g + k) + r] |= static_cast<std::uint8_t>((bytes[Span * g + r] >> (Width * k) & mask) << Shift);
    }
    /// ORs v into weight i's field: the bytes must start zeroed.
    static void put(std::uint8_t* bytes, int i, int v) noexcept {
        const int g = i / (Span * per_byte), r = i % (Span * per_byte);
        bytes[Span * g + r % Span] |= static_cast<std::uint8_t>((static_cast<unsigned>(v) & mask) << (Width * (r / Span)));
    }
};

/// The 12-byte packing of eight 6-bit scales and eight 6-bit mins shared by q4_K and q5_K (see format/q4_K.hpp).
struct scales_6bit_pairs {
    static void unpack(const std::uint8_t* q, int* sc, int* m) noexcept {
        for (int s = 0; s < 4; ++s) {
            sc[s] = q[s] & 63;
            m[s] = q[s + 4] & 63;
            sc[s + 4] = (q[s + 8] & 15) | ((q[s] >> 6) << 4);
            m[s + 4] = (q[s + 8] >> 4) | ((q[s + 4] >> 6) << 4);
        }
    }
    /// unpack, four values per 32-bit word (value k in byte k % 4), for the SIMD decoders: a word shifted right
    /// by 2 moves bits 6-7 of each byte to bits 4-5; the bits that cross from the next byte are masked off.
    struct words {
        std::uint32_t sc_low, sc_high, m_low, m_high;  // scales 0-3, 4-7; mins 0-3, 4-7
    };
    static words unpack_words(const std::uint8_t* q) noexcept {
        std::uint32_t w[3];
        std::memcpy(w, q, 12);
        return {w[0] & 0x3F3F3F3Fu, (w[2] & 0x0F0F0F0Fu) | ((w[0] >> 2) & 0x30303030u), w[1] & 0x3F3F3F3Fu,
                ((w[2] >> 4) & 0x0F0F0F0Fu) | ((w[1] >> 2) & 0x30303030u)};
    }
    static void pack(const int* sc, const int* m, std::uint8_t* q) noexcept {
        for (int s = 0; s < 4; ++s) {
            q[s] = static_cast<std::uint8_t>(sc[s] | ((sc[s + 4] >> 4) << 6));
            q[s + 4] = static_cast<std::uint8_t>(m[s] | ((m[s + 4] >> 4) << 6));
            q[s + 8] = static_cast<std::uint8_t>((sc[s + 4] & 15) | ((m[s + 4] & 15) << 4));
        }
    }
};

}  // namespace detail
LOWBIT_NAMESPACE_END
