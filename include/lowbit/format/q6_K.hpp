#pragma once
/// \file format/q6_K.hpp
/// q6_K: 6-bit symmetric K-quant, 256 weights in 16 sub-blocks of 16, each with a signed 8-bit scale.
/// Byte-identical to GGUF's Q6_K (block_q6_K).
///
///   byte  0                        128              192           208    210
///         +------------------------+----------------+-------------+------+
///         | ql[128]                | qh[64]         | scales[16]  |  d   |   210 bytes / 256 weights
///         +------------------------+----------------+-------------+------+   = 6.5625 bits per weight
///   code u_i in 0..63 of weight i:
///     bits 0-3: weight i = 128g + 64h + t (g in 0..1, h in 0..1, t in 0..63) is nibble h of ql[64g + t]
///     bits 4-5: weight i = 128g + 32k + l (k in 0..3, l in 0..31) is bits 2k..2k+1 of qh[32g + l]
///   scales: int8 sc_s of sub-block s (weights 16s .. 16s+15)
///   d: fp16
///   weight i = float(d * sc_s) * (u_i - 32),   s = i / 16
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

struct q6_K {
    struct block {
        using format = q6_K;
        std::uint8_t ql[128];
        std::uint8_t qh[64];
        std::int8_t scales[16];
        half_bytes d;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "q6_K"; }
    /// ggml's type id: a GGUF tensor of type 14 holds these blocks.
    static constexpr std::uint32_t ggml_type = 14;
    /// False if the stored super-block scale overflowed to Inf (or is NaN).
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }

    /// The codec: weight i = float(d * sc_s) * (u_i - 32), s = i / 16; u_i in 0..63 (4 bits in ql, 2 in qh), sc_s the
    /// signed byte scales[s].
    static constexpr int code_bits = 6, sub_block = 16, zero_point = 32, scale_lo = -128, scale_hi = 127, min_hi = 0;
    static constexpr bool has_min = false;
    static int code(const block& b, int i) noexcept {
        return detail::bit_plane<4, 64>::get(b.ql, i) | (detail::bit_plane<2, 32>::get(b.qh, i) << 4);
    }
    /// code(b, i) for every i, ORed into u (zeroed).
    static void codes(const block& b, std::uint8_t* u) noexcept {
        detail::bit_plane<4, 64>::or_all(b.ql, u);
        detail::bit_plane<2, 32>::or_all<4>(b.qh, u);
    }
    static void put_code(block& b, int i, int u) noexcept {
        detail::bit_plane<4, 64>::put(b.ql, i, u);
        detail::bit_plane<2, 32>::put(b.qh, i, u >> 4);
    }
    static void get_scales(const block& b, int* sc, int*) noexcept {
        for (int s = 0; s < 16; ++s) sc[s] = b.scales[s];
    }
    static void put_scales(const int* sc, const int*, block& b) noexcept {
        for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<std::int8_t>(sc[s]);
    }

    /// Test hooks (see format/kquant_common.hpp).
    template <class Rng>
    static void set_unit_scales(block& b, Rng&) noexcept {
        b.d.set_bits(0x3C00);
        for (auto& s : b.scales) s = 1;
    }
    template <class Rng>
    static void set_random_scales(block& b, Rng& rng) {
        b.d.set_bits(detail::random_test_scale(rng));
    }
};
static_assert(sizeof(q6_K::block) == 210, "q6_K block must be 210 bytes, as in GGUF");

LOWBIT_NAMESPACE_END
