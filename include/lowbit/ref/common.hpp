#pragma once
/// \file ref/common.hpp
/// Rules shared by the reference quantizers. They reproduce the `gguf` Python package (gguf-py quants.py),
/// which writes the same bytes as ggml's quantize_row_*_ref built without FMA contraction.
#include "../half.hpp"
#include "../core/backends.hpp"

#include <cmath>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch { namespace ref {

/// True for blocks whose scale is the fp16 field d (every weight format but mxfp4; the SIMD drivers convert
/// those eight at a time, the others through Fmt::scale).
template <class Block, class = void>
struct half_scale : std::false_type {};
template <class Block>
struct half_scale<Block, std::enable_if_t<std::is_same<decltype(Block::d), half_bytes>::value>> : std::true_type {};

/// Largest |x| of a block and the signed value that has it (the first one, on ties), as numpy's argmax(|x|).
struct signed_absmax {
    float amax = 0.0f;
    float value = 0.0f;
};
inline signed_absmax find_signed_absmax(const float* x, std::size_t n) noexcept {
    signed_absmax r;
    for (std::size_t j = 0; j < n; ++j) {
        const float a = std::fabs(x[j]);
        if (a > r.amax) {
            r.amax = a;
            r.value = x[j];
        }
    }
    return r;
}

/// 1/d, or 0 when that is not finite: an all-zero block, or one so small (|d| below about 2^-128) that 1/d
/// overflows. Either way every code becomes the zero point; such a block's fp16 scale is 0 anyway. (GGUF leaves
/// the second case undefined: it converts +-Inf to int.) Every backend's quantizer takes id from here.
inline float inverse_or_zero(float d) noexcept {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    return std::isfinite(id) ? id : 0.0f;
}

/// trunc(v) clamped to [0, max_code], in float first so that no out-of-range or NaN value is converted to int
/// (NaN, from a block whose range overflows float and is rejected afterwards, gives 0).
inline int truncated_code(float v, int max_code) noexcept {
    if (!(v >= 0.0f)) return 0;
    return v >= static_cast<float>(max_code) ? max_code : static_cast<int>(v);
}

/// Code of a symmetric format with zero point `zero` (8 for 4 bits, 16 for 5 bits): trunc(x*id + zero + 0.5),
/// with x*id rounded to float first (numpy evaluates the product and the sum as two float32 operations),
/// clamped to [0, 2*zero - 1].
inline int symmetric_code(float x, float id, int zero) noexcept {
    return truncated_code(detail::rounded(x * id) + (static_cast<float>(zero) + 0.5f), 2 * zero - 1);
}

/// Code of an asymmetric format: trunc((x - min)*id + 0.5), product rounded first, clamped to [0, max_code].
inline int asymmetric_code(float x, float min, float id, int max_code) noexcept {
    return truncated_code(detail::rounded((x - min) * id) + 0.5f, max_code);
}

/// Round half away from zero (C roundf), as ggml's q8 quantizers and gguf's np_roundf.
inline int round_half_away(float v) noexcept { return static_cast<int>(std::round(v)); }

/// Packs 32 codes into 16 bytes: byte j = low nibble of code j | low nibble of code j+16 << 4.
inline void pack_nibbles(const int* code, std::uint8_t* qs) noexcept {
    for (int j = 0; j < 16; ++j)
        qs[j] = static_cast<std::uint8_t>((code[j] & 0x0F) | ((code[j + 16] & 0x0F) << 4));
}

/// Bit 4 of each of 32 codes into a little-endian 32-bit mask: bit i = code i >> 4.
inline void pack_high_bits(const int* code, std::uint8_t* qh) noexcept {
    std::uint32_t h = 0;
    for (int i = 0; i < 32; ++i) h |= static_cast<std::uint32_t>((code[i] >> 4) & 1) << i;
    for (int k = 0; k < 4; ++k) qh[k] = static_cast<std::uint8_t>(h >> (8 * k));
}

/// The 32 codes of a nibble-packed block with optional high bits (qh == nullptr for 4-bit formats).
inline void unpack_codes(const std::uint8_t* qs, const std::uint8_t* qh, int* code) noexcept {
    std::uint32_t h = 0;
    if (qh) h = qh[0] | (qh[1] << 8) | (qh[2] << 16) | (static_cast<std::uint32_t>(qh[3]) << 24);
    for (int j = 0; j < 16; ++j) {
        code[j] = (qs[j] & 0x0F) | static_cast<int>(((h >> j) & 1) << 4);
        code[j + 16] = (qs[j] >> 4) | static_cast<int>(((h >> (j + 16)) & 1) << 4);
    }
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::ref
