#pragma once
/// \file arch/backends.hpp
/// Backend tags. Every kernel is an overload of one function on a tag; a tag derives from the next-best
/// backend, so a backend that lacks a kernel uses the nearest one that has it (avx512_vnni -> avx512 -> avx2
/// -> scalar; neon_i8mm -> neon_dotprod -> neon -> scalar) through ordinary overload resolution.
///
/// Tags exist on every target; `compiled` says whether the compiler flags enabled that backend's kernels.
/// The public functions static_assert it, so asking for an unavailable backend fails to compile rather than
/// silently running another backend's code.
#include "../config.hpp"

#include <type_traits>

namespace lowbit::arch {

/// The reference: plain C++, the specification of every format's arithmetic.
struct scalar {
    static constexpr const char* name() noexcept { return "scalar"; }
    static constexpr bool compiled = true;
    static constexpr bool emulated = false;
};

/// x86-64 AVX2 with FMA and F16C (Haswell and later, Zen).
struct avx2 : scalar {
    static constexpr const char* name() noexcept { return "avx2"; }
#if defined(LOWBIT_HAVE_AVX2)
    static constexpr bool compiled = true;
#else
    static constexpr bool compiled = false;
#endif
};

/// AVX-512 F/CD/DQ/BW/VL (Skylake-SP and later, Zen 4).
struct avx512 : avx2 {
    static constexpr const char* name() noexcept { return "avx512"; }
#if defined(LOWBIT_HAVE_AVX512)
    static constexpr bool compiled = true;
#else
    static constexpr bool compiled = false;
#endif
#if defined(LOWBIT_AVX512_EMULATE)
    static constexpr bool emulated = true;  // tests only: SIMDe runs the same intrinsics on AVX2
#endif
};

/// AVX-512 with VNNI (vpdpbusd): Ice Lake, Sapphire Rapids, Zen 4.
struct avx512_vnni : avx512 {
    static constexpr const char* name() noexcept { return "avx512_vnni"; }
#if defined(LOWBIT_HAVE_AVX512_VNNI)
    static constexpr bool compiled = true;
#else
    static constexpr bool compiled = false;
#endif
};

/// AArch64 Advanced SIMD (every ARMv8-A core).
struct neon : scalar {
    static constexpr const char* name() noexcept { return "neon"; }
#if defined(LOWBIT_HAVE_NEON)
    static constexpr bool compiled = true;
#else
    static constexpr bool compiled = false;
#endif
};

/// NEON with the dot-product extension (sdot): Cortex-A76/A55 and later, Apple M1, Graviton 2.
struct neon_dotprod : neon {
    static constexpr const char* name() noexcept { return "neon_dotprod"; }
#if defined(LOWBIT_HAVE_NEON_DOTPROD)
    static constexpr bool compiled = true;
#else
    static constexpr bool compiled = false;
#endif
};

/// NEON with int8 matrix multiply (smmla): Graviton 3, Apple M2, Cortex-X2/A710 and later.
struct neon_i8mm : neon_dotprod {
    static constexpr const char* name() noexcept { return "neon_i8mm"; }
#if defined(LOWBIT_HAVE_NEON_I8MM)
    static constexpr bool compiled = true;
#else
    static constexpr bool compiled = false;
#endif
};

/// The best backend the compiler flags allow.
#if defined(LOWBIT_HAVE_AVX512_VNNI)
using best = avx512_vnni;
#elif defined(LOWBIT_HAVE_AVX512)
using best = avx512;
#elif defined(LOWBIT_HAVE_AVX2)
using best = avx2;
#elif defined(LOWBIT_HAVE_NEON_I8MM)
using best = neon_i8mm;
#elif defined(LOWBIT_HAVE_NEON_DOTPROD)
using best = neon_dotprod;
#elif defined(LOWBIT_HAVE_NEON)
using best = neon;
#else
using best = scalar;
#endif

}  // namespace lowbit::arch

namespace lowbit {

using arch::avx2;
using arch::avx512;
using arch::avx512_vnni;
using arch::neon;
using arch::neon_dotprod;
using arch::neon_i8mm;
using arch::scalar;

/// The backend used when a call names none. Define LOWBIT_DEFAULT_BACKEND (e.g. `lowbit::arch::scalar`)
/// before including lowbit to force one.
#if defined(LOWBIT_DEFAULT_BACKEND)
using default_backend = LOWBIT_DEFAULT_BACKEND;
#else
using default_backend = arch::best;
#endif
static_assert(default_backend::compiled, "LOWBIT_DEFAULT_BACKEND names a backend the compiler flags do not enable");

/// "avx512 (emulated)" for the SIMDe test build, otherwise the tag's name.
template <class Backend>
inline const char* backend_description() noexcept {
    return Backend::emulated ? (std::is_same<Backend, arch::avx512_vnni>::value ? "avx512_vnni (emulated by SIMDe)"
                                                                                 : "avx512 (emulated by SIMDe)")
                             : Backend::name();
}

}  // namespace lowbit
