#pragma once
/// \file config.hpp
/// Compile-time configuration: which backends the compiler's target flags enable, and small portability helpers.
///
/// Backend macros (each is 1 when enabled, undefined otherwise):
///   LOWBIT_HAVE_AVX2          -mavx2 -mfma -mf16c (all three: the kernels use FMA and F16C)
///   LOWBIT_HAVE_AVX512        -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl, or LOWBIT_AVX512_EMULATE
///   LOWBIT_HAVE_AVX512_VNNI   the above plus -mavx512vnni (or LOWBIT_AVX512_EMULATE with LOWBIT_EMULATE_VNNI)
///   LOWBIT_HAVE_NEON          aarch64 with Advanced SIMD
///   LOWBIT_HAVE_NEON_DOTPROD  aarch64 with +dotprod (sdot/udot)
///   LOWBIT_HAVE_NEON_I8MM     aarch64 with +i8mm (smmla)
///
/// LOWBIT_AVX512_EMULATE (tests only) runs the AVX-512 kernels through SIMDe's emulation on an AVX2 machine.
#include <cstddef>
#include <cstdint>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lowbit supports little-endian targets only: GGUF blocks are little-endian byte layouts"
#endif

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define LOWBIT_HAVE_AVX2 1
#endif

#if defined(LOWBIT_HAVE_AVX2) && defined(LOWBIT_AVX512_EMULATE)
#define LOWBIT_HAVE_AVX512 1
#if defined(LOWBIT_EMULATE_VNNI)
#define LOWBIT_HAVE_AVX512_VNNI 1
#endif
#elif defined(LOWBIT_HAVE_AVX2) && defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512DQ__) && \
    defined(__AVX512BW__) && defined(__AVX512VL__)
#define LOWBIT_HAVE_AVX512 1
#if defined(__AVX512VNNI__)
#define LOWBIT_HAVE_AVX512_VNNI 1
#endif
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#define LOWBIT_HAVE_NEON 1
#if defined(__ARM_FEATURE_DOTPROD)
#define LOWBIT_HAVE_NEON_DOTPROD 1
#endif
#if defined(__ARM_FEATURE_DOTPROD) && defined(__ARM_FEATURE_MATMUL_INT8)
#define LOWBIT_HAVE_NEON_I8MM 1
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LOWBIT_INLINE inline __attribute__((always_inline))
#else
#define LOWBIT_INLINE inline
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define LOWBIT_HAS_EXCEPTIONS 1
#endif

namespace lowbit::detail {

/// Returns x unchanged, but opaque to the optimizer: a product passed through it is rounded to float before
/// any later addition. Stops -ffp-contract=fast (GCC's default in GNU mode) from fusing `a * b + c` into
/// one FMA, which would change quantized bytes relative to the reference (and to GGUF's).
LOWBIT_INLINE float rounded(float x) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE__)
    __asm__("" : "+x"(x));
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    __asm__("" : "+w"(x));
#else
    volatile float v = x;
    x = v;
#endif
    return x;
}

}  // namespace lowbit::detail
