#pragma once
/// \file arch/avx512/intrin.hpp
/// The one place that decides whether the AVX-512 kernels use the real instructions or SIMDe's emulation.
///
/// Native (the default): <immintrin.h>, with -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl, plus
/// -mavx512vnni for the avx512_vnni kernels.
/// Emulated (LOWBIT_AVX512_EMULATE, tests only; built with -mavx2 -mfma -mf16c and no -mavx512*): the same
/// _mm512_* names run through SIMDe 0.7.4's native aliases, with the fixes and shims below.
/// In both, detail::rounded (config.hpp) fences products from FMA contraction: it holds SIMDe's 64-byte vectors,
/// wider than an AVX2 register, in memory.
#include "../../config.hpp"

#include <cstdint>

// GCC 12.1-12.2 bug 105593 (fixed in 12.3): every unmasked AVX-512 intrinsic whose merge source is
// _mm512_undefined_*() warns "'__Y' is used uninitialized" once inlined at -O2. The kernel headers put their
// code between these two macros, so users' -Wall builds stay clean without a global -Wno-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#define LOWBIT_AVX512_KERNELS_BEGIN \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
        _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define LOWBIT_AVX512_KERNELS_END _Pragma("GCC diagnostic pop")
#else
#define LOWBIT_AVX512_KERNELS_BEGIN
#define LOWBIT_AVX512_KERNELS_END
#endif

#if defined(LOWBIT_AVX512_EMULATE)

#include <cstring>

#include <immintrin.h>  // the real header first: SIMDe's alias macros must be defined after its declarations
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

// SIMDe 0.7.4 bug: this alias takes the four arguments of the masked form, so every normal call fails.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16((a), (b))

// Intrinsics SIMDe 0.7.4 lacks. They are macros calling lowbit_emu_* functions: functions named _mm512_*
// would clash with the declarations in GCC's <immintrin.h>. Each one has the real instruction's semantics.
LOWBIT_NAMESPACE_BEGIN namespace arch { namespace avx512_impl {

template <class T, class V>
inline void to_lanes(T* lanes, V v) noexcept {
    static_assert(sizeof(V) == 64, "a 512-bit vector");
    std::memcpy(lanes, &v, 64);
}
template <class V, class T>
inline V from_lanes(const T* lanes) noexcept {
    V v;
    std::memcpy(&v, lanes, 64);
    return v;
}

// vcvtdq2ps: int32 -> float, rounded to nearest even (what a C++ conversion does).
inline simde__m512 cvtepi32_ps(simde__m512i v) noexcept {
    std::int32_t i[16];
    float f[16];
    to_lanes(i, v);
    for (int k = 0; k < 16; ++k) f[k] = static_cast<float>(i[k]);
    return from_lanes<simde__m512>(f);
}

// vcvttps2dq: float -> int32 by truncation; out-of-range and NaN give INT32_MIN (the "integer indefinite").
inline simde__m512i cvttps_epi32(simde__m512 v) noexcept {
    float f[16];
    std::int32_t i[16];
    to_lanes(f, v);
    for (int k = 0; k < 16; ++k)
        i[k] = (f[k] > -2147483904.0f && f[k] < 2147483648.0f) ? static_cast<std::int32_t>(f[k]) : INT32_MIN;
    return from_lanes<simde__m512i>(i);
}

// vpmovdb: the low byte of each int32 lane (truncation, no saturation).
inline simde__m128i cvtepi32_epi8(simde__m512i v) noexcept {
    std::uint32_t i[16];
    std::uint8_t b[16];
    to_lanes(i, v);
    for (int k = 0; k < 16; ++k) b[k] = static_cast<std::uint8_t>(i[k]);
    return simde_mm_loadu_si128(b);
}

// vpmovzxbd / vpmovsxbd: 16 bytes -> 16 int32 lanes, zero- or sign-extended.
template <class Byte>
inline simde__m512i extend_bytes(simde__m128i v) noexcept {
    Byte b[16];
    std::int32_t i[16];
    simde_mm_storeu_si128(b, v);
    for (int k = 0; k < 16; ++k) i[k] = b[k];
    return from_lanes<simde__m512i>(i);
}

// vpmovzxbw: 32 bytes -> 32 int16 lanes, zero-extended.
inline simde__m512i cvtepu8_epi16(simde__m256i v) noexcept {
    std::uint8_t b[32];
    std::int16_t h[32];
    simde_mm256_storeu_si256(b, v);
    for (int k = 0; k < 32; ++k) h[k] = b[k];
    return from_lanes<simde__m512i>(h);
}

// vpdpbusd (with LOWBIT_EMULATE_VNNI): the even and the odd bytes of each dword widened to int16 (u zero-, s
// sign-extended), multiplied and pair-summed by vpmaddwd (|sum| <= 2 * 255 * 128: exact), then added, wrapping as
// the instruction does. SIMDe's own form widens every byte to int32 in 1024-bit generic vectors, which took GCC
// 3.5 minutes for test_matmul.cpp alone.
inline simde__m512i dpbusd_epi32(simde__m512i acc, simde__m512i u, simde__m512i s) noexcept {
    const simde__m512i u_even = simde_mm512_and_si512(u, simde_mm512_set1_epi16(0x00FF));
    const simde__m512i u_odd = simde_mm512_srli_epi16(u, 8);
    const simde__m512i s_even = simde_mm512_srai_epi16(simde_mm512_slli_epi16(s, 8), 8);
    const simde__m512i s_odd = simde_mm512_srai_epi16(s, 8);
    return simde_mm512_add_epi32(acc, simde_mm512_add_epi32(simde_mm512_madd_epi16(u_even, s_even),
                                                             simde_mm512_madd_epi16(u_odd, s_odd)));
}

}}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch::avx512_impl

#define _mm512_cvtepi32_ps(v) ::lowbit::arch::avx512_impl::cvtepi32_ps(v)
#define _mm512_cvttps_epi32(v) ::lowbit::arch::avx512_impl::cvttps_epi32(v)
#define _mm512_cvtepi32_epi8(v) ::lowbit::arch::avx512_impl::cvtepi32_epi8(v)
#define _mm512_cvtepu8_epi32(v) ::lowbit::arch::avx512_impl::extend_bytes<std::uint8_t>(v)
#define _mm512_cvtepi8_epi32(v) ::lowbit::arch::avx512_impl::extend_bytes<std::int8_t>(v)
#define _mm512_cvtepu8_epi16(v) ::lowbit::arch::avx512_impl::cvtepu8_epi16(v)
#undef _mm512_dpbusd_epi32
#define _mm512_dpbusd_epi32(acc, u, s) ::lowbit::arch::avx512_impl::dpbusd_epi32((acc), (u), (s))

#else  // native

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "the AVX-512 kernels need -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl (or LOWBIT_AVX512_EMULATE)"
#endif
#include <immintrin.h>

#endif
