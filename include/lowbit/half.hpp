#pragma once
/// \file half.hpp
/// IEEE 754 binary16 ("half") storage and exact conversions, without relying on F16C or __fp16.
///
/// fp32_to_fp16 rounds to nearest, ties to even, exactly like F16C's vcvtps2ph with rounding mode 0, numpy's
/// astype(float16) and ggml's GGML_FP32_TO_FP16:
///   - values that round above 65504 become +-Inf; values below 2^-25 in magnitude become +-0 (sign kept);
///   - results below 2^-14 are subnormal halves, rounded once (no double rounding);
///   - NaN stays NaN: sign kept, quiet bit set, the top 9 payload bits kept (what vcvtps2ph does).
/// fp16_to_fp32 is exact for every one of the 65536 bit patterns (subnormals, Inf, NaN payloads included).
#include "config.hpp"

#include <cstdint>
#include <cstring>

LOWBIT_NAMESPACE_BEGIN

/// A half-precision value as two little-endian bytes. Alignment 1, so blocks that hold it may start at any
/// byte address (GGUF tensor data is not required to be aligned beyond the format's natural packing).
struct half_bytes {
    std::uint8_t b[2];

    constexpr std::uint16_t bits() const noexcept {
        return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
    }
    constexpr void set_bits(std::uint16_t h) noexcept {
        b[0] = static_cast<std::uint8_t>(h & 0xFF);
        b[1] = static_cast<std::uint8_t>(h >> 8);
    }
};
static_assert(sizeof(half_bytes) == 2 && alignof(half_bytes) == 1, "half_bytes must be two packed bytes");

/// A float32 value as four little-endian bytes (alignment 1), for block fields such as q8_K's scale.
struct float_bytes {
    std::uint8_t b[4];

    float value() const noexcept {
        float f;
        std::memcpy(&f, b, 4);
        return f;
    }
    void set(float f) noexcept { std::memcpy(b, &f, 4); }
};
static_assert(sizeof(float_bytes) == 4 && alignof(float_bytes) == 1, "float_bytes must be four packed bytes");

inline std::uint32_t float_to_bits(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float bits_to_float(std::uint32_t u) noexcept {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

/// binary16 bits -> float, exact.
inline float fp16_to_fp32(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1Fu;
    std::uint32_t mant = h & 0x3FFu;
    if (exp == 0x1F) return bits_to_float(sign | 0x7F800000u | (mant << 13));  // Inf, NaN (payload kept)
    if (exp != 0) return bits_to_float(sign | ((exp + 112u) << 23) | (mant << 13));
    if (mant == 0) return bits_to_float(sign);  // +-0
    // Subnormal half: mant * 2^-24, exactly representable as a normal float.
    int e = 113;  // biased float exponent of 2^-14
    while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --e;
    }
    return bits_to_float(sign | (static_cast<std::uint32_t>(e) << 23) | ((mant & 0x3FFu) << 13));
}

/// float -> binary16 bits, round to nearest even (see the file comment for Inf, NaN and subnormals).
inline std::uint16_t fp32_to_fp16(float f) noexcept {
    const std::uint32_t u = float_to_bits(f);
    const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
    const std::uint32_t exp = (u >> 23) & 0xFFu;
    const std::uint32_t mant = u & 0x7FFFFFu;
    if (exp == 0xFF) {
        if (mant == 0) return static_cast<std::uint16_t>(sign | 0x7C00u);
        return static_cast<std::uint16_t>(sign | 0x7E00u | (mant >> 13));  // quiet NaN, top payload bits kept
    }
    // Unbiased exponent; halves hold normals for e in [-14, 15] and subnormals down to 2^-24.
    const int e = static_cast<int>(exp) - 127;
    if (e > 15) return static_cast<std::uint16_t>(sign | 0x7C00u);
    if (e >= -14) {
        // Normal: keep 10 mantissa bits, round the 13 dropped bits to nearest even. A carry out of the
        // mantissa correctly bumps the exponent (and 65520.. rounds up to Inf).
        std::uint32_t h = (static_cast<std::uint32_t>(e + 15) << 10) | (mant >> 13);
        const std::uint32_t rest = mant & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
        return static_cast<std::uint16_t>(sign | h);
    }
    if (e < -25) return sign;  // below half the smallest subnormal: rounds to zero
    // Subnormal: value = (1.mant) * 2^e = m24 * 2^(e-23); result units are 2^-24.
    const std::uint32_t m24 = mant | 0x800000u;
    const int shift = -e - 1;  // 14..24: bits dropped from m24 to get units of 2^-24
    std::uint32_t h = m24 >> shift;
    const std::uint32_t rest = m24 & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (h & 1u))) ++h;  // may carry into the smallest normal: correct
    return static_cast<std::uint16_t>(sign | h);
}

/// False for the bit patterns of +-Inf and NaN.
inline bool is_finite_half(const half_bytes& h) noexcept { return (h.bits() & 0x7C00u) != 0x7C00u; }

inline float load_half(const half_bytes& h) noexcept { return fp16_to_fp32(h.bits()); }
inline void store_half(half_bytes& h, float f) noexcept { h.set_bits(fp32_to_fp16(f)); }

LOWBIT_NAMESPACE_END
