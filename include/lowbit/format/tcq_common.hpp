#pragma once
/// \file format/tcq_common.hpp
/// What lowbit's trellis-coded formats (tcq2, tcq3) share: the bitshift trellis that turns a block's bit stream into
/// table indices. The design study behind them is docs/research/vq-trellis/REPORT.md.
///
/// A block of 256 weights is one circular bit stream (qs: bit j is bit j % 8 of byte j / 8). Weight t adds
/// step_bits(t) bits to it, so the stream holds end(255) = stream_bits bits. Weight t's *window* is the L bits
/// [end(t) - L, end(t)) of the stream, read modulo stream_bits (the first weights' windows start in the last
/// weights' bits: the trellis is tail-biting, no bits are spent on a start state); bit 0 of the window is the
/// oldest. Its value is
///     values[index(window)],   index(w) = ((w * multiplier) mod 2^L) >> (L - q)
/// an int8 entry of a table of 2^q Gaussian quantiles (the format's `values`). Consecutive windows overlap in
/// L - step_bits bits, so the 2^k values that can follow a window are a coset of the table spread over its whole
/// range: a quantizer choosing bits by Viterbi search (ref/trellis.hpp) reaches within ~1.5 dB of the
/// rate-distortion bound of Gaussian data, where a scalar code of the same rate is ~4 dB away.
/// Decoding needs only shifts, one 16-bit multiply and a lookup in a 64- or 128-byte table: register shuffles
/// (pshufb / vpermb / tbl), never a gather from memory.
#include "q8_K.hpp"

LOWBIT_NAMESPACE_BEGIN

/// GGUF type ids of lowbit's own formats: above ggml's range ("LB" in the high bytes), so that lowbit reads back the
/// GGUF files it writes with them, and ggml rejects them as an unknown type rather than misreading them.
constexpr std::uint32_t lowbit_type_base = 0x4C420000u;

/// The bitshift trellis of a 256-weight block with BaseBits bits per weight, one more at weights t % 16 = 2, 7 and
/// 12 (BaseBits + 3/16 bits per weight: the fractional rate is what reaches the SNR targets at 2.25 and 3.25 bits),
/// windows of L = WindowBits bits and tables of 2^IndexBits entries. The multipliers were chosen by search on
/// Gaussian rows (docs/research/vq-trellis, mult_search.py).
template <int BaseBits, int WindowBits, int IndexBits, unsigned Multiplier>
struct bitshift_trellis {
    static constexpr int window_bits = WindowBits;
    static constexpr int index_bits = IndexBits;
    static constexpr unsigned multiplier = Multiplier;
    static constexpr int stream_bits = 256 * BaseBits + 48;
    static constexpr int stream_bytes = stream_bits / 8;

    /// Bits weight t adds to the stream.
    static constexpr int step_bits(int t) noexcept {
        return BaseBits + (t % 16 == 2 || t % 16 == 7 || t % 16 == 12 ? 1 : 0);
    }
    /// Bits of the stream up to and including weight t's.
    static constexpr int end(int t) noexcept {
        const int r = t % 16;
        return (t + 1) * BaseBits + 3 * (t / 16) + (r >= 2) + (r >= 7) + (r >= 12);
    }
    /// The table index of a window.
    static constexpr unsigned index(unsigned window) noexcept {
        return ((window * Multiplier) & ((1u << WindowBits) - 1u)) >> (WindowBits - IndexBits);
    }
    /// Weight t's window in a block's stream.
    static unsigned window(const std::uint8_t* qs, int t) noexcept {
        const int start = (end(t) - WindowBits + stream_bits) % stream_bits;
        const int byte = start / 8;
        std::uint32_t bits = 0;
        for (int k = 0; k < 3; ++k) bits |= static_cast<std::uint32_t>(qs[(byte + k) % stream_bytes]) << (8 * k);
        return (bits >> (start % 8)) & ((1u << WindowBits) - 1u);
    }

    static_assert(end(255) == stream_bits && stream_bits % 8 == 0, "the stream fills whole bytes");
    static_assert(WindowBits + 7 <= 24 && WindowBits <= 16, "a window spans at most 3 bytes of the stream");
};

LOWBIT_NAMESPACE_END
