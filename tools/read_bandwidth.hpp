#pragma once
/// \file tools/read_bandwidth.hpp
/// The read-bandwidth limit that lowbit's GEMV figures are quoted against, shared by the benchmarks
/// (bench/bench_limits.cpp, read_bw/bytes:N) and `lowbit bench-model`: a read-only SIMD reduction, compiled with
/// function target attributes (no -m flags needed) and picked for the CPU it runs on.
#include <lowbit/lowbit.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lowbit::tools {

/// Sums n bytes, read as 32-bit lanes (the sum itself is meaningless; it keeps the loads alive).
using reduce_fn = std::uint32_t (*)(const unsigned char*, std::size_t);

/// Adds the trailing n % step bytes.
inline std::uint32_t sum_tail(const unsigned char* p, std::size_t n, std::size_t step) {
    std::uint32_t s = 0;
    for (std::size_t i = n / step * step; i < n; ++i) s += p[i];
    return s;
}

inline std::uint32_t reduce_portable(const unsigned char* p, std::size_t n) {
    std::uint32_t acc[8] = {};
    for (std::size_t i = 0; i + 32 <= n; i += 32)
        for (std::size_t k = 0; k < 8; ++k) {
            std::uint32_t v;
            std::memcpy(&v, p + i + 4 * k, 4);
            acc[k] += v;
        }
    return std::accumulate(acc, acc + 8, sum_tail(p, n, 32));
}

#if defined(__x86_64__)
/// Software prefetch this far ahead, as the packed GEMV kernels do (arch/x86/gemm.hpp): from DRAM it raises a
/// plain read loop's bandwidth by about 10% on one thread and 20% on two here, and the limit should be the best
/// a streaming kernel can reach.
constexpr std::size_t prefetch_ahead = 12288;

// 8 independent accumulators: enough loads in flight for two loads per cycle from L1.
__attribute__((target("avx2"))) inline std::uint32_t reduce_avx2(const unsigned char* p, std::size_t n) {
    __m256i acc[8];
    for (auto& a : acc) a = _mm256_setzero_si256();
    for (std::size_t i = 0; i + 256 <= n; i += 256) {
        for (int k = 0; k < 4; ++k) _mm_prefetch(reinterpret_cast<const char*>(p + i + prefetch_ahead + 64 * k), _MM_HINT_T0);
        for (int k = 0; k < 8; ++k)
            acc[k] = _mm256_add_epi32(acc[k], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32 * k)));
    }
    for (int k = 1; k < 8; ++k) acc[0] = _mm256_add_epi32(acc[0], acc[k]);
    alignas(32) std::uint32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[0]);
    return std::accumulate(lanes, lanes + 8, sum_tail(p, n, 256));
}

__attribute__((target("avx512f"))) inline std::uint32_t reduce_avx512(const unsigned char* p, std::size_t n) {
    __m512i acc[8];
    for (auto& a : acc) a = _mm512_setzero_si512();
    for (std::size_t i = 0; i + 512 <= n; i += 512) {
        for (int k = 0; k < 8; ++k) _mm_prefetch(reinterpret_cast<const char*>(p + i + prefetch_ahead + 64 * k), _MM_HINT_T0);
        for (int k = 0; k < 8; ++k) acc[k] = _mm512_add_epi32(acc[k], _mm512_load_si512(p + i + 64 * k));
    }
    for (int k = 1; k < 8; ++k) acc[0] = _mm512_add_epi32(acc[0], acc[k]);
    alignas(64) std::uint32_t lanes[16];
    _mm512_store_si512(lanes, acc[0]);
    return std::accumulate(lanes, lanes + 16, sum_tail(p, n, 512));
}

#endif

/// The widest reduction this CPU runs, and its name for the label.
inline std::pair<reduce_fn, const char*> best_reduce() {
#if defined(__x86_64__)
    const lowbit::cpu_features cpu = lowbit::detect_cpu();
    if (cpu.avx512bw) return {reduce_avx512, "avx512"};
    if (cpu.avx2) return {reduce_avx2, "avx2"};
#endif
    return {reduce_portable, "portable"};
}

}  // namespace lowbit::tools
