#pragma once
/// \file arch/trellis_groups.hpp
/// Where the windows of tcq2 / tcq3 (format/tcq_common.hpp) lie, for the SIMD decoders of every ISA: weights are
/// decoded 32 at a time (a group), from 16 consecutive stream bytes.
///
/// Weight t's window ends at stream bit e = end(t) = 8 c + r with r in 1..8: the 16 stream bits before e are
/// (u1 << (8 - r)) | (u0 >> r) (16-bit arithmetic), u1 and u0 the little-endian 16-bit words at bytes c - 1 and
/// c - 2. A byte shuffle gathers u1 and u0 of every weight from the group's 16 bytes, per-lane shifts (or
/// multiplies by powers of two) align them, and the low 16 - L bits are masked off: the window, times 2^(16 - L).
/// Times the multiplier, mod 2^16, that holds the table index in its top q bits.
/// The pattern repeats every 128 weights (whole bytes: 35 for tcq2, 51 for tcq3), so four groups describe eight.
#include "../format/tcq2.hpp"
#include "../format/tcq3.hpp"

LOWBIT_NAMESPACE_BEGIN namespace arch {

template <class Format>
struct trellis_groups {
    using code = typename Format::code;
    /// Stream bytes per 128 weights: group g + 4 is group g that many bytes later.
    static constexpr int period_bytes = code::stream_bytes / 2;

    /// Bit r of weight t's window end (1..8) and its byte c.
    static constexpr int end_shift(int t) noexcept { return (code::end(t) - 1) % 8 + 1; }
    static constexpr int end_byte(int t) noexcept { return (code::end(t) - end_shift(t)) / 8; }
    /// The first of group g's 16 bytes (g in 0..3; -2 for group 0: the stream's last two bytes, wrapped).
    static constexpr int base(int g) noexcept {
        int low = end_byte(32 * g) - 2;
        for (int t = 32 * g; t < 32 * g + 32; ++t) low = end_byte(t) - 2 < low ? end_byte(t) - 2 : low;
        return low;
    }
    /// Weight i (0..31) of group g: bytes c - 2, c - 1, c relative to the group's base, and r.
    static constexpr int byte(int g, int i) noexcept { return end_byte(32 * g + i) - base(g); }
    static constexpr int shift(int g, int i) noexcept { return end_shift(32 * g + i); }

    static constexpr bool fits() noexcept {
        for (int g = 0; g < 4; ++g)
            for (int i = 0; i < 32; ++i)
                if (byte(g, i) - 2 < 0 || byte(g, i) > 15) return false;
        return base(0) == -2;
    }
    static_assert(code::end(127) == 8 * period_bytes, "128 weights fill whole bytes");
    static_assert(fits(), "a group's windows lie in 16 bytes");
};

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
