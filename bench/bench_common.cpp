// The helpers of bench_common.hpp.
#include "bench_common.hpp"

#include <algorithm>
#include <stdexcept>

namespace lowbit_bench {

namespace {

constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

/// Per-core size of the data cache at `level` (L1d, L2, L3 unified), or `fallback` when unknown.
std::size_t cache_bytes(int level, std::size_t fallback) {
    for (const auto& c : benchmark::CPUInfo::Get().caches)
        if (c.level == level && c.type != "Instruction" && c.size > 0) return static_cast<std::size_t>(c.size);
    return fallback;
}

}  // namespace

suite_sizes make_sizes(const std::string& name) {
    const std::size_t l1 = cache_bytes(1, 32 * KiB), l2 = cache_bytes(2, 512 * KiB), l3 = cache_bytes(3, 8 * MiB);
    const std::size_t dram = std::max<std::size_t>(256 * MiB, 4 * l3);
    // The layer shapes of 7-8B models (Llama-2-7B, Llama-3-8B, Mistral-7B): attention 4096x4096, FFN up/gate
    // 14336x4096 (rows x cols), FFN down 4096x14336. All are multiples of 256, the largest block size.
    const shape attn{4096, 4096}, ffn_up{14336, 4096}, ffn_down{4096, 14336};
    suite_sizes s;
    if (name == "tiny") {
        s.convert_n = {1024};
        s.act_n = {1024};
        s.levels = {16 * KiB};
        s.sweep_cols = 512;
        s.sweep_threads = {1, 2};
        s.layers = {{64, 512}};
        s.gemm_layers = {{64, 512}};
        s.batches = {2};
        s.scalar_batches = {2};
        s.threads = {1, 2};
        s.calibration_quality = {{32, 256, 256}};
        s.calibration_timed = {{64, 256, 256}};
        s.quality_rows = 1;
        s.attention_contexts = {100};
        s.attention_prefill = {{100, 20}};
        s.attention_all_formats = true;
    } else if (name == "quick") {
        s.convert_n = {64 * KiB};
        s.act_n = {4096};
        s.levels = {l1 / 2, l2 / 2, l3 / 2, dram};
        s.sweep_cols = 4096;
        s.sweep_threads = {1, 2};  // the DRAM level is the GEMV target on 1 and 2 threads
        s.layers = {attn, ffn_down};
        s.gemm_layers = {attn};
        // The GEMM target's batch; the scalar reference would take seconds per call there, so it runs batch 8.
        s.batches = {64};
        s.scalar_batches = {8};
        s.threads = {1, 2};
        s.calibration_quality = {{256, 1024, 2048}};
        s.quality_rows = 16;
        s.attention_contexts = {4096, 32768};
        s.attention_prefill = {{2048, 256}};
    } else if (name == "full") {
        s.convert_n = {4 * KiB, 64 * KiB, 1024 * KiB};
        s.act_n = {4096, 14336};
        s.levels = {l1 / 2, l2 / 2, l3 / 2, dram};
        s.sweep_cols = 4096;
        s.sweep_threads = {1, 2};
        s.layers = {attn, ffn_down, ffn_up};
        s.gemm_layers = {attn, ffn_down, ffn_up};
        s.batches = {8, 64, 512};
        s.scalar_batches = s.batches;
        s.threads = {1, 2};
        s.calibration_quality = {{1024, 1024, 2048}};
        s.calibration_timed = {{4096, 4096, 4096}};  // issue #16's target: <= 20 s on one core
        s.quality_rows = 64;
        s.attention_contexts = {4096, 32768, 131072};
        s.attention_prefill = {{4096, 512}};
        s.attention_all_formats = true;
    } else {
        throw std::invalid_argument("--lowbit_sizes must be tiny, quick or full, not '" + name + "'");
    }
    return s;
}

std::string bench_name(const std::string& head, const std::vector<std::pair<const char*, std::size_t>>& args) {
    std::string name = head;
    for (const auto& [key, value] : args) name += "/" + std::string(key) + ":" + std::to_string(value);
    return name;
}

benchmark::internal::Benchmark* add(const std::string& name, std::function<void(benchmark::State&)> fn,
                                    std::size_t threads) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), std::move(fn));
    return threads > 1 ? b->UseRealTime() : b;
}

void set_rates(benchmark::State& state, double bytes, double weights, double flop, const std::string& label) {
    if (bytes > 0) state.SetBytesProcessed(static_cast<std::int64_t>(bytes * static_cast<double>(state.iterations())));
    if (weights > 0) state.counters["weights"] = benchmark::Counter(weights, benchmark::Counter::kIsIterationInvariantRate);
    if (flop > 0) state.counters["FLOP"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(label);
}

const std::vector<float>& float_pool() {
    static const std::vector<float> pool = [] {
        std::mt19937 rng(20240611);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> v(pool_values);
        for (float& x : v) x = normal(rng);
        return v;
    }();
    return pool;
}

void fill_tiled(const aligned_bytes& dst, const void* src, std::size_t src_bytes) {
    for (std::size_t done = 0; done < dst.size(); done += src_bytes)
        std::memcpy(dst.data() + done, src, std::min(src_bytes, dst.size() - done));
}

aligned_bytes floats(std::size_t n) {
    aligned_bytes out(n * sizeof(float));
    fill_tiled(out, float_pool().data(), pool_values * sizeof(float));
    return out;
}

}  // namespace lowbit_bench
