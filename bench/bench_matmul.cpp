// gemv and gemm through the public matmul API (lowbit/matmul.hpp), for every weight format: the working-set
// sweep (gemv only) and the 7-8B layer shapes, on 1 thread (serial_executor) and on a lowbit::thread_pool.
#include "bench_common.hpp"

#include <lowbit/matmul.hpp>

namespace lowbit_bench {

namespace {

/// Calls f(executor): the serial executor for one thread, otherwise a pool of `threads` workers.
template <class F>
void with_executor(std::size_t threads, F&& f) {
    if (threads == 1) {
        lowbit::serial_executor serial;
        f(serial);
    } else {
        lowbit::thread_pool pool(threads);
        f(pool);
    }
}

/// The rows x cols weight matrix of Fmt, kept across the calls of one benchmark (and of its other thread counts).
template <class Fmt>
std::shared_ptr<const aligned_bytes> weights(shape sh) {
    return cached<aligned_bytes>(
        bench_name(std::string("weights/") + Fmt::name(), {{"rows", sh.rows}, {"cols", sh.cols}}),
        [sh] { return blocks<typename Fmt::block>(sh.rows * sh.cols); });
}

/// y = W x. Rates: weight bytes, weights, 2 FLOP per weight.
template <class Fmt>
void bench_gemv(benchmark::State& state, shape sh, std::size_t threads) {
    const auto w = weights<Fmt>(sh);
    const lowbit::const_qmatrix_view<Fmt> view(w->data(), sh.rows, sh.cols);
    const aligned_bytes x = floats(sh.cols), y(sh.rows * sizeof(float));
    with_executor(threads, [&](auto& exec) {
        for (auto _ : state) {
            lowbit::gemv(view, as<const float>(x), as<float>(y), {}, exec, backend{});
            benchmark::ClobberMemory();
        }
    });
    const double n = static_cast<double>(sh.rows) * static_cast<double>(sh.cols);
    set_rates(state, static_cast<double>(w->size()), n, 2.0 * n);
}

/// Y = X W^T with X batch x cols, Y batch x rows. Rates: weight bytes and weights (once per call), 2 FLOP per
/// weight and activation row.
template <class Fmt>
void bench_gemm(benchmark::State& state, shape sh, std::size_t batch, std::size_t threads) {
    const auto w = weights<Fmt>(sh);
    const lowbit::const_qmatrix_view<Fmt> view(w->data(), sh.rows, sh.cols);
    const aligned_bytes x = floats(batch * sh.cols), y(batch * sh.rows * sizeof(float));
    const lowbit::matrix_view<const float> xv(as<const float>(x), batch, sh.cols);
    const lowbit::matrix_view<float> yv(as<float>(y), batch, sh.rows);
    with_executor(threads, [&](auto& exec) {
        for (auto _ : state) {
            lowbit::gemm(view, xv, yv, {}, exec, backend{});
            benchmark::ClobberMemory();
        }
    });
    const double n = static_cast<double>(sh.rows) * static_cast<double>(sh.cols);
    set_rates(state, static_cast<double>(w->size()), n, 2.0 * n * static_cast<double>(batch));
}

}  // namespace

void register_matmul_benchmarks(const suite_sizes& s) {
    for_weight_formats([&](auto format) {
        using Fmt = decltype(format);
        const std::string tail = std::string("/") + Fmt::name() + "/" + backend::name();
        const auto add_gemv = [&](shape sh, std::size_t threads) {
            add(bench_name("gemv" + tail, {{"rows", sh.rows}, {"cols", sh.cols}, {"threads", threads}}),
                [sh, threads](benchmark::State& st) { bench_gemv<Fmt>(st, sh, threads); }, threads);
        };
        for (const shape sh : sweep_shapes<Fmt>(s))
            for (const std::size_t t : s.sweep_threads) add_gemv(sh, t);
        for (const shape sh : s.layers)
            for (const std::size_t t : s.threads) add_gemv(sh, t);
        for (const shape sh : s.gemm_layers)
            for (const std::size_t batch : s.batches)
                for (const std::size_t t : s.threads)
                    add(bench_name("gemm" + tail,
                                   {{"rows", sh.rows}, {"cols", sh.cols}, {"batch", batch}, {"threads", t}}),
                        [sh, batch, t](benchmark::State& st) { bench_gemm<Fmt>(st, sh, batch, t); }, t);
    });
}

}  // namespace lowbit_bench
