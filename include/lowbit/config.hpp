#pragma once
/// \file config.hpp
/// Compile-time configuration: which backends the compiler's target flags enable, and small portability helpers.
///
/// Backend macros (each is 1 when enabled, 0 otherwise):
///   LOWBIT_HAVE_AVX2          -mavx2 -mfma -mf16c (all three: the kernels use FMA and F16C)
///   LOWBIT_HAVE_AVX512        -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl, or LOWBIT_AVX512_EMULATE
///   LOWBIT_HAVE_AVX512_VNNI   the above plus -mavx512vnni (or LOWBIT_AVX512_EMULATE with LOWBIT_EMULATE_VNNI)
///   LOWBIT_HAVE_NEON          aarch64 with Advanced SIMD
///   LOWBIT_HAVE_NEON_DOTPROD  aarch64 with +dotprod (sdot/udot)
///   LOWBIT_HAVE_AVX_VNNI      AVX2 plus -mavxvnni (or LOWBIT_AVX_VNNI_EMULATE: tests only, exact AVX2 emulation)
///   LOWBIT_HAVE_NEON_I8MM     aarch64 with +i8mm (smmla)
///
/// LOWBIT_AVX512_EMULATE (tests only) runs the AVX-512 kernels through SIMDe's emulation on an AVX2 machine.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lowbit supports little-endian targets only: GGUF blocks are little-endian byte layouts"
#endif

// Each LOWBIT_HAVE_* is 1 when the flags enable that backend's kernels, else 0.
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define LOWBIT_HAVE_AVX2 1
#else
#define LOWBIT_HAVE_AVX2 0
#endif

#if LOWBIT_HAVE_AVX2 && defined(LOWBIT_AVX512_EMULATE)
#define LOWBIT_HAVE_AVX512 1
#if defined(LOWBIT_EMULATE_VNNI)
#define LOWBIT_HAVE_AVX512_VNNI 1
#else
#define LOWBIT_HAVE_AVX512_VNNI 0
#endif
#elif LOWBIT_HAVE_AVX2 && defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512DQ__) && \
    defined(__AVX512BW__) && defined(__AVX512VL__)
#define LOWBIT_HAVE_AVX512 1
#if defined(__AVX512VNNI__)
#define LOWBIT_HAVE_AVX512_VNNI 1
#else
#define LOWBIT_HAVE_AVX512_VNNI 0
#endif
#else
#define LOWBIT_HAVE_AVX512 0
#define LOWBIT_HAVE_AVX512_VNNI 0
#endif

// AVX-VNNI: the VEX-encoded 256-bit vpdpbusd without AVX-512 (Alder Lake, Zen 5 client).
#if LOWBIT_HAVE_AVX2 && (defined(__AVXVNNI__) || defined(LOWBIT_AVX_VNNI_EMULATE))
#define LOWBIT_HAVE_AVX_VNNI 1
#else
#define LOWBIT_HAVE_AVX_VNNI 0
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#define LOWBIT_HAVE_NEON 1
#if defined(__ARM_FEATURE_DOTPROD)
#define LOWBIT_HAVE_NEON_DOTPROD 1
#else
#define LOWBIT_HAVE_NEON_DOTPROD 0
#endif
#if defined(__ARM_FEATURE_DOTPROD) && defined(__ARM_FEATURE_MATMUL_INT8)
#define LOWBIT_HAVE_NEON_I8MM 1
#else
#define LOWBIT_HAVE_NEON_I8MM 0
#endif
#else
#define LOWBIT_HAVE_NEON 0
#define LOWBIT_HAVE_NEON_DOTPROD 0
#define LOWBIT_HAVE_NEON_I8MM 0
#endif

// The target: the best instruction set the flags enable. Everything lowbit compiles lives in the inline
// namespace lowbit::target_<isa> (LOWBIT_NAMESPACE_BEGIN), so translation units built for different targets
// link into one program without sharing an inline function compiled for another CPU (see docs/ARCHITECTURE.md).
#if defined(LOWBIT_AVX512_EMULATE) || defined(LOWBIT_AVX_VNNI_EMULATE)
#define LOWBIT_TARGET_SUFFIX _simde
#else
#define LOWBIT_TARGET_SUFFIX
#endif
#if LOWBIT_HAVE_AVX512_VNNI && LOWBIT_HAVE_AVX_VNNI
#define LOWBIT_TARGET_ISA avx512_vnni_avx_vnni
#elif LOWBIT_HAVE_AVX512_VNNI
#define LOWBIT_TARGET_ISA avx512_vnni
#elif LOWBIT_HAVE_AVX512
#define LOWBIT_TARGET_ISA avx512
#elif LOWBIT_HAVE_AVX_VNNI
#define LOWBIT_TARGET_ISA avx_vnni
#elif LOWBIT_HAVE_AVX2
#define LOWBIT_TARGET_ISA avx2
#elif LOWBIT_HAVE_NEON_I8MM
#define LOWBIT_TARGET_ISA neon_i8mm
#elif LOWBIT_HAVE_NEON_DOTPROD
#define LOWBIT_TARGET_ISA neon_dotprod
#elif LOWBIT_HAVE_NEON
#define LOWBIT_TARGET_ISA neon
#else
#define LOWBIT_TARGET_ISA generic
#endif
#define LOWBIT_CONCAT_(a, b, c) a##b##c
#define LOWBIT_CONCAT(a, b, c) LOWBIT_CONCAT_(a, b, c)
/// lowbit::target_avx2, lowbit::target_generic, ...: the inline namespace of this translation unit's code.
#define LOWBIT_TARGET LOWBIT_CONCAT(target_, LOWBIT_TARGET_ISA, LOWBIT_TARGET_SUFFIX)
#define LOWBIT_NAMESPACE_BEGIN \
    namespace lowbit {         \
    inline namespace LOWBIT_TARGET {
#define LOWBIT_NAMESPACE_END \
    }                        \
    }

#if defined(__GNUC__) || defined(__clang__)
#define LOWBIT_INLINE inline __attribute__((always_inline))
/// After a lambda's parameter list: GCC otherwise leaves a large unrolled body as a call, which spills every
/// vector register live across it (all are caller-saved).
#define LOWBIT_INLINE_LAMBDA __attribute__((always_inline))
/// A loop whose register allocation suffers from the code around it, kept a function of its own.
#define LOWBIT_NOINLINE __attribute__((noinline))
#else
#define LOWBIT_INLINE inline
#define LOWBIT_INLINE_LAMBDA
#define LOWBIT_NOINLINE
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define LOWBIT_HAS_EXCEPTIONS 1
#endif

LOWBIT_NAMESPACE_BEGIN namespace detail {

/// Returns x unchanged, but opaque to the optimizer: a product passed through it is rounded to float before
/// any later addition (and any value passed through it is computed at that point, not deferred). Stops -ffp-contract=fast (GCC's default in GNU mode) from fusing `a * b + c` into
/// one FMA, which would change quantized bytes relative to the reference (and to GGUF's). The one fence of
/// every backend: x is a float or a SIMD vector, held in a register, or one wider than this target's registers
/// or a struct (SIMDe's emulated vectors), held in memory.
template <class V>
LOWBIT_INLINE V rounded(V x) noexcept {
#if defined(__AVX512F__)
    constexpr std::size_t register_bytes = 64;
#elif defined(__AVX__)
    constexpr std::size_t register_bytes = 32;
#else
    constexpr std::size_t register_bytes = 16;
#endif
    constexpr bool in_memory = std::is_class<V>::value || std::is_union<V>::value || sizeof(V) > register_bytes;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE__)
    if constexpr (in_memory) __asm__("" : "+m"(x));
    else __asm__("" : "+v"(x));  // any xmm/ymm/zmm register
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    if constexpr (in_memory) __asm__("" : "+m"(x));
    else __asm__("" : "+w"(x));
#else
    (void)in_memory;
    volatile V v = x;
    x = v;
#endif
    return x;
}

/// Calls f(std::integral_constant<int, c>{}) for c = 0 .. N - 1 in order, so that c can be an immediate (a
/// shift count, a chunk offset) or index an array that must stay in registers (a loop over c would leave such
/// an array in memory: GCC does not unroll loops whose body holds a lambda's inlined calls).
template <class F, int... C>
LOWBIT_INLINE void unroll(F&& f, std::integer_sequence<int, C...>) {
    (f(std::integral_constant<int, C>{}), ...);
}
template <int N, class F>
LOWBIT_INLINE void unroll(F&& f) {
    unroll(f, std::make_integer_sequence<int, N>{});
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::detail
