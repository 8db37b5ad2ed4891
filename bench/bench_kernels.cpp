// Row kernels: quantize, dequantize, quantize_act (floats to the activation format) and dot, for every weight
// format. They call the chosen backend's kernels directly (one indirect call through lowbit::dispatch's table):
// the checked API's input scan (quantize_row rejects NaN and Inf) costs the same on every backend and would hide
// the kernels' differences.
#include "bench_common.hpp"

namespace lowbit_bench {

namespace {

/// Floats -> Block. Rates: float bytes and values.
template <class Block>
void bench_quantize(benchmark::State& state, std::size_t n) {
    const std::size_t nblocks = n / Block::format::block_size;
    const aligned_bytes x = floats(n);
    const aligned_bytes y(nblocks * sizeof(Block));
    for (auto _ : state) {
        quantize_blocks(as<const float>(x), as<Block>(y), nblocks, backend{});
        benchmark::ClobberMemory();
    }
    set_rates(state, 4.0 * static_cast<double>(n), static_cast<double>(n), 0, lowbit::runtime_backend());
}

/// Block -> floats. Rates: float bytes and values.
template <class Block>
void bench_dequantize(benchmark::State& state, std::size_t n) {
    const std::size_t nblocks = n / Block::format::block_size;
    const aligned_bytes x = blocks<Block>(n);
    const aligned_bytes y(n * sizeof(float));
    for (auto _ : state) {
        dequantize_blocks(as<const Block>(x), as<float>(y), nblocks, backend{});
        benchmark::ClobberMemory();
    }
    set_rates(state, 4.0 * static_cast<double>(n), static_cast<double>(n), 0, lowbit::runtime_backend());
}

/// One row of n weights against n quantized activations. Rates: weight bytes, weights and 2 FLOP per weight.
template <class Fmt>
void bench_dot(benchmark::State& state, std::size_t n) {
    using W = typename Fmt::block;
    using A = typename Fmt::activation::block;
    struct data {
        aligned_bytes w, a;
    };
    const auto d = cached<data>("dot/" + std::string(Fmt::name()) + "/" + std::to_string(n),
                                [n] { return data{blocks<W>(n), blocks<A>(n)}; });
    for (auto _ : state)
        benchmark::DoNotOptimize(
            dot_blocks(as<const W>(d->w), as<const A>(d->a), n / Fmt::block_size, backend{}));
    set_rates(state, static_cast<double>(d->w.size()), static_cast<double>(n), 2.0 * static_cast<double>(n),
              lowbit::runtime_backend());
}

}  // namespace

void register_kernel_benchmarks(const suite_sizes& s) {
    for_weight_formats([&](auto format) {
        using Fmt = decltype(format);
        using W = typename Fmt::block;
        using A = typename Fmt::activation::block;
        const std::string tail = std::string("/") + Fmt::name() + "/" + lowbit::runtime_backend();
        for (const std::size_t size : s.convert_n) {
            const std::size_t n = whole_blocks<Fmt>(size);
            add(bench_name("quantize" + tail, {{"n", n}}), [n](benchmark::State& st) { bench_quantize<W>(st, n); });
            add(bench_name("dequantize" + tail, {{"n", n}}),
                [n](benchmark::State& st) { bench_dequantize<W>(st, n); });
        }
        for (const std::size_t size : s.act_n) {
            const std::size_t n = whole_blocks<Fmt>(size);
            add(bench_name("quantize_act" + tail, {{"n", n}}),
                [n](benchmark::State& st) { bench_quantize<A>(st, n); });
        }
        for (const std::size_t bytes : s.levels) {
            const std::size_t n = dot_values_for_bytes<Fmt>(bytes);
            add(bench_name("dot" + tail, {{"n", n}}), [n](benchmark::State& st) { bench_dot<Fmt>(st, n); });
        }
    });
}

}  // namespace lowbit_bench
