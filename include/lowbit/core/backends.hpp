#pragma once
/// \file core/backends.hpp
/// Backend tags, and THE list of backends (LOWBIT_FOR_EACH_BACKEND) that every aggregator uses: the runtime
/// dispatcher, the benchmarks and the CMake scripts (which read the flags column from this file).
///
/// Every kernel is an overload of one function on a tag; a tag derives from the backends whose kernels it
/// reuses, so a backend that lacks a kernel uses the nearest one that has it through ordinary overload
/// resolution. A tag may have two parents: avx512_vnni derives from avx512 and from avx_vnni (both derive
/// virtually from avx2, so a kernel written for avx2 is found once). Where both parents have a kernel,
/// the child must bring its own (the compiler reports the ambiguity).
///
///   scalar <- avx2 <- avx512 ----+
///              ^                  +-- avx512_vnni
///              +--- avx_vnni ----+
///   scalar <- neon <- neon_dotprod <- neon_i8mm
///
/// Tags exist on every target; `compiled` says whether the compiler flags enabled that backend's kernels (the
/// public functions static_assert it), and `runs_on(cpu)` whether a CPU with those features can run them.
#include "../config.hpp"
#include "cpu.hpp"
#include "dispatch_abi.hpp"

#include <string>
#include <type_traits>

/// X(tag, flags as a string literal), best first: the runtime dispatcher takes the first one the CPU runs. The flags are
/// those a translation unit of that backend is built with (CMake reads them from here: cmake/lowbit-backends.cmake).
#define LOWBIT_FOR_EACH_BACKEND(X)                                                                             \
    X(avx512_vnni, "-mavx2 -mfma -mf16c -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl -mavx512vnni") \
    X(avx512, "-mavx2 -mfma -mf16c -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl")                   \
    X(avx_vnni, "-mavx2 -mfma -mf16c -mavxvnni")                                                              \
    X(avx2, "-mavx2 -mfma -mf16c")                                                                            \
    X(neon_i8mm, "-march=armv8.6-a+i8mm")                                                                     \
    X(neon_dotprod, "-march=armv8.2-a+dotprod")                                                               \
    X(neon, "-march=armv8-a")                                                                                 \
    X(scalar, "")

LOWBIT_NAMESPACE_BEGIN
namespace arch {

/// The reference: plain C++, the specification of every format's arithmetic.
struct scalar {
    static constexpr const char* name() noexcept { return "scalar"; }
    static constexpr bool compiled = true;
    static constexpr bool emulated = false;
    static constexpr bool runs_on(const cpu_features&) noexcept { return true; }
};

/// x86-64 AVX2 with FMA and F16C (Haswell and later, Zen).
struct avx2 : scalar {
    static constexpr const char* name() noexcept { return "avx2"; }
    static constexpr bool compiled = LOWBIT_HAVE_AVX2;
    static constexpr bool emulated = false;
    static constexpr bool runs_on(const cpu_features& f) noexcept { return f.avx2 && f.fma && f.f16c; }
};

/// AVX-512 F/CD/DQ/BW/VL (Skylake-SP and later, Zen 4).
struct avx512 : virtual avx2 {
    static constexpr const char* name() noexcept { return "avx512"; }
    static constexpr bool compiled = LOWBIT_HAVE_AVX512;
#if defined(LOWBIT_AVX512_EMULATE)
    static constexpr bool emulated = true;  // tests only: SIMDe runs the same intrinsics on AVX2
#else
    static constexpr bool emulated = false;
#endif
    static constexpr bool runs_on(const cpu_features& f) noexcept { return avx2::runs_on(f) && f.avx512bw; }
};

/// AVX-VNNI: 256-bit vpdpbusd without AVX-512 (Alder Lake, Zen 5 client). AVX2's kernels with the int8 dot
/// swapped for vpdpbusd.
struct avx_vnni : virtual avx2 {
    static constexpr const char* name() noexcept { return "avx_vnni"; }
    static constexpr bool compiled = LOWBIT_HAVE_AVX_VNNI;
#if defined(LOWBIT_AVX_VNNI_EMULATE)
    static constexpr bool emulated = true;  // tests only: an exact AVX2 emulation of vpdpbusd
#else
    static constexpr bool emulated = false;
#endif
    static constexpr bool runs_on(const cpu_features& f) noexcept { return avx2::runs_on(f) && f.avx_vnni; }
};

/// AVX-512 with VNNI (vpdpbusd): Ice Lake, Sapphire Rapids, Zen 4. Its kernels come from avx512, or failing
/// that from avx_vnni (the 256-bit VNNI dot), or from avx2.
struct avx512_vnni : avx512, avx_vnni {
    static constexpr const char* name() noexcept { return "avx512_vnni"; }
    static constexpr bool compiled = LOWBIT_HAVE_AVX512_VNNI;
    static constexpr bool emulated = avx512::emulated;
    static constexpr bool runs_on(const cpu_features& f) noexcept { return avx512::runs_on(f) && f.avx512_vnni; }
};

/// AArch64 Advanced SIMD (every ARMv8-A core).
struct neon : scalar {
    static constexpr const char* name() noexcept { return "neon"; }
    static constexpr bool compiled = LOWBIT_HAVE_NEON;
    static constexpr bool emulated = false;
    static constexpr bool runs_on(const cpu_features& f) noexcept { return f.neon; }
};

/// NEON with the dot-product extension (sdot): Cortex-A76/A55 and later, Apple M1, Graviton 2.
struct neon_dotprod : neon {
    static constexpr const char* name() noexcept { return "neon_dotprod"; }
    static constexpr bool compiled = LOWBIT_HAVE_NEON_DOTPROD;
    static constexpr bool emulated = false;
    static constexpr bool runs_on(const cpu_features& f) noexcept { return f.neon && f.neon_dotprod; }
};

/// NEON with int8 matrix multiply (smmla): Graviton 3, Apple M2, Cortex-X2/A710 and later.
struct neon_i8mm : neon_dotprod {
    static constexpr const char* name() noexcept { return "neon_i8mm"; }
    static constexpr bool compiled = LOWBIT_HAVE_NEON_I8MM;
    static constexpr bool emulated = false;
    static constexpr bool runs_on(const cpu_features& f) noexcept { return neon_dotprod::runs_on(f) && f.neon_i8mm; }
};

/// The backend chosen at run time (lowbit::dispatch, core/dispatch.hpp): the best one the running CPU supports,
/// or the one LOWBIT_BACKEND names. Not derived from any backend, so every kernel must forward explicitly.
struct dispatched {
    static constexpr const char* name() noexcept { return "dispatched"; }
    static constexpr bool compiled = true;
    static constexpr bool emulated = false;
};

}  // namespace arch

namespace detail {
template <class... Tags>
struct first_compiled;
template <class Tag, class... Rest>
struct first_compiled<Tag, Rest...> {
    using type = std::conditional_t<Tag::compiled, Tag, typename first_compiled<Rest...>::type>;
};
template <>
struct first_compiled<> {
    using type = arch::scalar;
};
#define LOWBIT_BACKEND_TAG_(tag, flags) , tag
template <class Ignored, class... Tags>
using first_compiled_of = typename first_compiled<Tags...>::type;
}  // namespace detail

namespace arch {
/// The best backend the compiler flags allow: the first compiled one of LOWBIT_FOR_EACH_BACKEND.
using best = lowbit::detail::first_compiled_of<void LOWBIT_FOR_EACH_BACKEND(LOWBIT_BACKEND_TAG_)>;
#undef LOWBIT_BACKEND_TAG_

}  // namespace arch

#define LOWBIT_USING_BACKEND_(tag, flags) using arch::tag;
LOWBIT_FOR_EACH_BACKEND(LOWBIT_USING_BACKEND_)
#undef LOWBIT_USING_BACKEND_

using arch::dispatched;

/// The backend used when a call names none. Define LOWBIT_DEFAULT_BACKEND (e.g. `lowbit::arch::scalar`)
/// before including lowbit to force one. Linking lowbit::dispatch defines LOWBIT_RUNTIME_DISPATCH: the backend
/// is then chosen when the program runs.
#if defined(LOWBIT_DEFAULT_BACKEND)
using default_backend = LOWBIT_DEFAULT_BACKEND;
#elif defined(LOWBIT_RUNTIME_DISPATCH)
using default_backend = arch::dispatched;
#else
using default_backend = arch::best;
#endif
static_assert(default_backend::compiled, "LOWBIT_DEFAULT_BACKEND names a backend the compiler flags do not enable");

/// "avx512 (emulated)" for the emulated test builds, otherwise the tag's name; for `dispatched`, the backend
/// chosen at run time, e.g. "avx2 (chosen at run time)".
template <class Backend>
inline const char* backend_description() {
    static const std::string text = [] {
        if constexpr (std::is_same<Backend, arch::dispatched>::value) {
            const abi::kernel_table& t = abi::active_kernels();
            return std::string(t.backend) + (t.emulated ? " (emulated)" : "") + " (chosen at run time)";
        } else {
            return std::string(Backend::name()) + (Backend::emulated ? " (emulated)" : "");
        }
    }();
    return text.c_str();
}

LOWBIT_NAMESPACE_END
