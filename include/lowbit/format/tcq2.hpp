#pragma once
/// \file format/tcq2.hpp
/// tcq2: lowbit's 2-bit trellis-coded format, 2.25 bits per weight. 256 weights per block, one fp16 scale; each
/// weight is d times an entry of a 64-value Gaussian table, chosen by a 12-bit window of a bit stream that gains
/// 2 or 3 bits per weight (the bitshift trellis of format/tcq_common.hpp). Measured SNR on N(0,1) rows: 12.6 dB
/// (the rate-distortion bound at 2.25 bits: 13.5 dB; GGUF's iq2_xs at 2.31 bits: 10.5 dB). Not a GGUF format.
///
///   byte  0                                    70     72
///         +------------------------------------+------+
///         | qs[0] ...                   qs[69] |  d   |     72 bytes / 256 weights = 2.25 bits per weight
///         +------------------------------------+------+
///   qs: the block's 560-bit circular stream; weight t adds 3 bits at t % 16 = 2, 7, 12 and 2 bits elsewhere
///   window_t = stream bits [end(t) - 12, end(t)) (mod 560), end(t) = bits through weight t
///   weight t = d * values[((window_t * 0x940B) mod 4096) >> 6]
#include "tcq_common.hpp"

LOWBIT_NAMESPACE_BEGIN

struct tcq2 {
    using code = bitshift_trellis<2, 12, 6, 0x940Bu>;
    struct block {
        using format = tcq2;
        std::uint8_t qs[code::stream_bytes];
        half_bytes d;
    };
    using activation = q8_K;
    static constexpr std::size_t block_size = qk_k;
    static constexpr std::size_t block_bytes = sizeof(block);
    static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;
    static constexpr const char* name() noexcept { return "tcq2"; }
    /// Not a ggml type: lowbit's own id (format/tcq_common.hpp).
    static constexpr std::uint32_t ggml_type = lowbit_type_base + 2;
    static constexpr bool has_min = false;
    /// The 64 Gaussian quantiles: round(127 * Phi^-1((i + 1/2) / 64) / Phi^-1(63.5 / 64)) (tools/gen_tcq_tables.py).
    static constexpr std::int8_t values[64] = {
        -127, -104, -93, -84, -77, -72, -67, -62, -58, -55, -51, -48, -45, -42, -39, -37, -34, -32, -29, -27, -25, -22,
        -20,  -18,  -16, -14, -11, -9,  -7,  -5,  -3,  -1,  1,   3,   5,   7,   9,   11,  14,  16,  18,  20,  22,  25,
        27,   29,   32,  34,  37,  39,  42,  45,  48,  51,  55,  58,  62,  67,  72,  77,  84,  93,  104, 127};
    /// The quantizer's search scale, as a multiple of the block's RMS over the table's: tuned on Gaussian rows
    /// (a code this coarse clips less, and loses less, when it spans a little more than the data).
    static constexpr float search_spread = 1.05f;
    static bool finite_scales(const block& b) noexcept { return is_finite_half(b.d); }
};
static_assert(sizeof(tcq2::block) == 72, "tcq2 block must be 72 bytes");

LOWBIT_NAMESPACE_END
