#pragma once
/// \file format/tcq3.hpp
/// tcq3: lowbit's 3-bit trellis-coded format, 3.25 bits per weight. 256 weights per block, one fp16 scale; each
/// weight is d times an entry of a 128-value Gaussian table, chosen by a 12-bit window of a bit stream that gains
/// 3 or 4 bits per weight (the bitshift trellis of format/tcq_common.hpp). Measured SNR on N(0,1) rows: 18.5 dB
/// (the rate-distortion bound at 3.25 bits: 19.6 dB; GGUF's q3_K at 3.44 bits: 16.4 dB). Not a GGUF format.
///
///   byte  0                                   102    104
///         +------------------------------------+------+
///         | qs[0] ...                  qs[101] |  d   |     104 bytes / 256 weights = 3.25 bits per weight
///         +------------------------------------+------+
///   qs: the block's 816-bit circular stream; weight t adds 4 bits at t % 16 = 2, 7, 12 and 3 bits elsewhere
///   window_t = stream bits [end(t) - 12, end(t)) (mod 816), end(t) = bits through weight t
///   weight t = d * values[((window_t * 0x6A09) mod 4096) >> 5]
#include "tcq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct tcq3 {
    using code = bitshift_trellis<3, 12, 7, 0x6A09u>;
    struct block {
        using format = tcq3;
        std::uint8_t qs[code::stream_bytes];
        half_bytes d;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "tcq3"; }
    /// Not a ggml type: lowbit's own id (format/tcq_common.hpp).
    static constexpr std::uint32_t ggml_type = lowbit_type_base + 3;
    static constexpr bool has_min = false;
    /// The 128 Gaussian quantiles: round(127 * Phi^-1((i + 1/2) / 128) / Phi^-1(127.5 / 128))
    /// (tools/gen_tcq_tables.py).
    static constexpr std::int8_t values[128] = {
        -127, -108, -99, -92, -86, -82, -78, -75, -72, -69, -66, -64, -62, -60, -58, -56, -54, -52, -51,
        -49,  -47,  -46, -44, -43, -42, -40, -39, -38, -36, -35, -34, -33, -32, -30, -29, -28, -27, -26,
        -25,  -24,  -23, -22, -21, -20, -19, -18, -17, -16, -15, -14, -13, -12, -11, -10, -9,  -8,  -7,
        -6,   -5,   -4,  -3,  -2,  -1,  0,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,
        12,   13,   14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,
        32,   33,   34,  35,  36,  38,  39,  40,  42,  43,  44,  46,  47,  49,  51,  52,  54,  56,  58,
        60,   62,   64,  66,  69,  72,  75,  78,  82,  86,  92,  99,  108, 127};
    /// The quantizer's search scale, as a multiple of the block's RMS over the table's (tuned on Gaussian rows).
    static constexpr float search_spread = 1.1f;
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
};
static_assert(sizeof(tcq3::block) == 104, "tcq3 block must be 104 bytes");

LOWBIT_NAMESPACE_END
