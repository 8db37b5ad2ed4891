#pragma once
/// \file core/cpu.hpp
/// What the running CPU (and its operating system) can execute: cpuid and xgetbv on x86-64, getauxval's hardware
/// capabilities on aarch64. The backend tags' runs_on(cpu) read it; the runtime dispatcher asks once.
#include "../config.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

LOWBIT_NAMESPACE_BEGIN

struct cpu_features {
    bool avx2 = false, fma = false, f16c = false;  // with the OS saving ymm state
    bool avx512bw = false;                          // F, CD, DQ, BW and VL, with the OS saving zmm state
    bool avx512_vnni = false, avx_vnni = false;
    bool neon = false, neon_dotprod = false, neon_i8mm = false;
};

/// The features of the CPU this runs on (not of the compiler flags).
inline cpu_features detect_cpu() noexcept {
    cpu_features f;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c >> 27 & 1, avx = c >> 28 & 1, fma = c >> 12 & 1, f16c = c >> 29 & 1;
    if (!osxsave || !avx) return f;
    unsigned xcr0_lo = 0, xcr0_hi = 0;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    const bool ymm_state = (xcr0_lo & 0x6u) == 0x6u;     // SSE and AVX state
    const bool zmm_state = (xcr0_lo & 0xE6u) == 0xE6u;   // plus opmask and the upper zmm halves
    if (!ymm_state || __get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b >> 5 & 1;
    f.fma = fma;
    f.f16c = f16c;
    const bool avx512f = b >> 16 & 1, avx512dq = b >> 17 & 1, avx512cd = b >> 28 & 1, avx512bw = b >> 30 & 1,
               avx512vl = b >> 31 & 1;
    f.avx512bw = zmm_state && avx512f && avx512dq && avx512cd && avx512bw && avx512vl;
    f.avx512_vnni = f.avx512bw && (c >> 11 & 1);
    const unsigned max_subleaf = a;
    if (max_subleaf >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f.avx_vnni = a >> 4 & 1;
    }
#elif defined(__aarch64__) && defined(__linux__)
    const unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
    f.neon = hwcap & (1ul << 1);                  // HWCAP_ASIMD
    f.neon_dotprod = f.neon && (hwcap & (1ul << 20));  // HWCAP_ASIMDDP
    f.neon_i8mm = f.neon_dotprod && (hwcap2 & (1ul << 13));  // HWCAP2_I8MM
#elif defined(__aarch64__)
    f.neon = true;  // every AArch64 core has Advanced SIMD; the extensions need an OS query
#endif
    return f;
}

LOWBIT_NAMESPACE_END
