// The machine's limits, measured by lowbit_bench in the same run as the kernels (the float Eigen baseline is
// bench_eigen.cpp, in executables of its own):
//   read_bw/bytes:N     read-only SIMD reduction over N bytes (split between the threads), prefetching ahead:
//                       the bandwidth a weight-streaming kernel can reach at that working set;
//   memcpy/bytes:N      std::memcpy of N bytes (bytes/s counts the bytes copied, not read + written);
//   int8_peak/ISA       register-only u8 x s8 multiply-adds, 2 ops per multiply-add: the compute roof of an
//                       int8 dot kernel (avx2: vpmaddubsw + vpmaddwd + vpaddd; avx_vnni: vpdpbusd on ymm;
//                       avx512_vnni: vpdpbusd on zmm).
// lowbit_bench is compiled without -m flags: the reductions and the int8 loops carry function target attributes,
// and each runs only where lowbit::detect_cpu() reports its instructions, so every backend's run measures the
// same code.
#include "bench_common.hpp"
#include "read_bandwidth.hpp"

#include <set>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lowbit_bench {

namespace {

using lowbit::tools::best_reduce;

#if defined(__x86_64__)
/// Inner iterations of one int8_peak call: long enough to hide the call, short enough for a small min_time.
constexpr std::int64_t peak_iterations = 4096;

// Six independent chains; the empty asm makes the inputs look new each iteration, so the compiler cannot hoist
// the loop-invariant vpmaddubsw/vpmaddwd out of the loop, and the accumulators' only dependency is vpaddd.
constexpr int avx2_chains = 6;
constexpr double avx2_ops_per_iteration = avx2_chains * 32 * 2;  // 32 u8 x s8 multiply-adds per vpmaddubsw
__attribute__((target("avx2"))) std::int32_t int8_peak_avx2() {
    __m256i a[avx2_chains], acc[avx2_chains];
    for (int k = 0; k < avx2_chains; ++k) {
        a[k] = _mm256_set1_epi8(static_cast<char>(k + 1));
        acc[k] = _mm256_setzero_si256();
    }
    const __m256i b = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    for (std::int64_t i = 0; i < peak_iterations; ++i) {
        __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]));
        for (int k = 0; k < avx2_chains; ++k)
            acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(a[k], b), ones));
    }
    for (int k = 1; k < avx2_chains; ++k) acc[0] = _mm256_add_epi32(acc[0], acc[k]);
    return _mm256_extract_epi32(acc[0], 0);
}

// vpdpbusd has a latency of about 5 cycles and two issue ports: 12 chains keep both busy.
constexpr int vnni_chains = 12;
constexpr double vnni_ops_per_iteration = vnni_chains * 64 * 2;  // 64 multiply-adds per vpdpbusd
__attribute__((target("avx512f,avx512bw,avx512vnni"))) std::int32_t int8_peak_avx512_vnni() {
    __m512i acc[vnni_chains];
    for (auto& x : acc) x = _mm512_setzero_si512();
    __m512i a = _mm512_set1_epi8(2), b = _mm512_set1_epi8(3);
    for (std::int64_t i = 0; i < peak_iterations; ++i) {
        __asm__ volatile("" : "+v"(a), "+v"(b));
        for (int k = 0; k < vnni_chains; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
    }
    for (int k = 1; k < vnni_chains; ++k) acc[0] = _mm512_add_epi32(acc[0], acc[k]);
    alignas(64) std::int32_t lanes[16];
    _mm512_store_si512(lanes, acc[0]);  // not _mm512_castsi512_si128: GCC 12 warns inside its header
    return lanes[0];
}

// AVX-VNNI: the VEX-encoded vpdpbusd on ymm, in as many chains as on zmm (12 accumulators + 2 inputs fit the 16
// ymm registers).
constexpr double avx_vnni_ops_per_iteration = vnni_chains * 32 * 2;  // 32 multiply-adds per ymm vpdpbusd
__attribute__((target("avx2,avxvnni"))) std::int32_t int8_peak_avx_vnni() {
    __m256i acc[vnni_chains];
    for (auto& x : acc) x = _mm256_setzero_si256();
    __m256i a = _mm256_set1_epi8(2), b = _mm256_set1_epi8(3);
    for (std::int64_t i = 0; i < peak_iterations; ++i) {
        __asm__ volatile("" : "+x"(a), "+x"(b));
        for (int k = 0; k < vnni_chains; ++k) acc[k] = _mm256_dpbusd_avx_epi32(acc[k], a, b);
    }
    for (int k = 1; k < vnni_chains; ++k) acc[0] = _mm256_add_epi32(acc[0], acc[k]);
    return _mm256_extract_epi32(acc[0], 0);
}
#endif

/// This Benchmark thread's share of n bytes, in whole 64-byte lines: [begin, end).
std::pair<std::size_t, std::size_t> thread_share(const benchmark::State& state, std::size_t n) {
    const auto lines = n / 64, t = static_cast<std::size_t>(state.thread_index()),
               threads = static_cast<std::size_t>(state.threads());
    const std::size_t begin = lines * t / threads * 64;
    return {begin, t + 1 == threads ? n : lines * (t + 1) / threads * 64};
}

void bench_read_bw(benchmark::State& state, std::size_t bytes) {
    const auto buf = cached<aligned_bytes>("read/" + std::to_string(bytes), [bytes] {
        aligned_bytes b(bytes);
        const auto& pool = float_pool();
        fill_tiled(b, pool.data(), pool.size() * sizeof(float));
        return b;
    });
    const auto [begin, end] = thread_share(state, bytes);
    const auto [reduce, isa] = best_reduce();
    for (auto _ : state) benchmark::DoNotOptimize(reduce(buf->data() + begin, end - begin));
    set_rates(state, static_cast<double>(end - begin), 0, 0, isa);  // summed over the threads
}

void bench_memcpy(benchmark::State& state, std::size_t bytes) {
    struct data {
        aligned_bytes src, dst;
    };
    const auto d = cached<data>("memcpy/" + std::to_string(bytes), [bytes] {
        data v{floats(bytes / sizeof(float) + 1), aligned_bytes(bytes)};
        std::memset(v.dst.data(), 0, bytes);  // fault the pages in outside the timed loop
        return v;
    });
    const auto [begin, end] = thread_share(state, bytes);
    for (auto _ : state) {
        std::memcpy(d->dst.data() + begin, d->src.data() + begin, end - begin);
        benchmark::ClobberMemory();
    }
    set_rates(state, static_cast<double>(end - begin), 0, 0, "libc");
}

#if defined(__x86_64__)
template <std::int32_t (*Peak)()>
void bench_int8_peak(benchmark::State& state, double ops_per_iteration) {
    for (auto _ : state) benchmark::DoNotOptimize(Peak());
    // Benchmark sums a counter over its threads and multiplies it by the iterations of all of them: kAvgThreads
    // keeps the total to one count per iteration.
    state.counters["OP"] = benchmark::Counter(
        ops_per_iteration * static_cast<double>(peak_iterations),
        benchmark::Counter::Flags(benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kAvgThreads));
    state.SetLabel("register-only, 2 ops per multiply-add");
}
#endif

}  // namespace

void register_limit_benchmarks(const suite_sizes& s) {
#if defined(__x86_64__)
    const lowbit::cpu_features cpu = lowbit::detect_cpu();  // only the int8 loops of this CPU's instructions
#endif
    // Read bandwidth at every working-set level and at the exact size of every layer's weights: near the
    // last-level cache's size the bandwidth changes quickly with the size.
    std::set<std::size_t> read_sizes(s.levels.begin(), s.levels.end());
    for_weight_formats([&](auto format) {
        using Fmt = decltype(format);
        for (const shape sh : s.layers) read_sizes.insert(sh.rows * lowbit::qmatrix_view<Fmt>::row_bytes(sh.cols));
    });
    for (const std::size_t t : s.threads) {
        const int threads = static_cast<int>(t);
        for (const std::size_t bytes : read_sizes)
            add(bench_name("read_bw", {{"bytes", bytes}}), [bytes](benchmark::State& st) {
                bench_read_bw(st, bytes);
            }, t)->Threads(threads);
        for (const std::size_t bytes : s.levels)
            add(bench_name("memcpy", {{"bytes", bytes}}), [bytes](benchmark::State& st) {
                bench_memcpy(st, bytes);
            }, t)->Threads(threads);
#if defined(__x86_64__)
        if (cpu.avx2)
            add("int8_peak/avx2", [](benchmark::State& st) {
                bench_int8_peak<int8_peak_avx2>(st, avx2_ops_per_iteration);
            }, t)->Threads(threads);
        if (cpu.avx_vnni)
            add("int8_peak/avx_vnni", [](benchmark::State& st) {
                bench_int8_peak<int8_peak_avx_vnni>(st, avx_vnni_ops_per_iteration);
            }, t)->Threads(threads);
        if (cpu.avx512_vnni)
            add("int8_peak/avx512_vnni", [](benchmark::State& st) {
                bench_int8_peak<int8_peak_avx512_vnni>(st, vnni_ops_per_iteration);
            }, t)->Threads(threads);
#endif
    }
}

}  // namespace lowbit_bench
