// gemv and gemm through the public matmul API (lowbit/matmul.hpp) on the chosen backend, for every weight format:
// the working-set sweep (gemv only) and the 7-8B layer shapes, on 1 thread (serial_executor) and on a
// lowbit::thread_pool.
// Formats that lowbit::pack supports run a second time with packed weights, named "<format>-packed".
#include "bench_common.hpp"

#include <lowbit/matmul.hpp>

#include <optional>

namespace lowbit_bench {

namespace {

/// The rows x cols weight matrix of Fmt, plain or packed, kept across the calls of one benchmark (and of its other
/// thread counts). Holds the storage; view() is what gemv / gemm take, size() its bytes.
template <class Fmt, bool Packed>
struct weight_matrix {
    aligned_bytes plain;
    std::conditional_t<Packed, std::optional<lowbit::packed_matrix<Fmt>>, char> packed;
    shape sh;

    explicit weight_matrix(shape s) : plain(blocks<typename Fmt::block>(s.rows * s.cols)), sh(s) {
        if constexpr (Packed) {
            packed.emplace(lowbit::const_qmatrix_view<Fmt>(plain.data(), sh.rows, sh.cols));
            plain = aligned_bytes(0);
        }
    }
    auto view() const {
        if constexpr (Packed) return packed->view();
        else return lowbit::const_qmatrix_view<Fmt>(plain.data(), sh.rows, sh.cols);
    }
    double size() const {
        if constexpr (Packed) return static_cast<double>(packed->size_bytes());
        else return static_cast<double>(plain.size());
    }
};

template <class Fmt, bool Packed>
std::shared_ptr<const weight_matrix<Fmt, Packed>> weights(shape sh) {
    return cached<weight_matrix<Fmt, Packed>>(
        bench_name(std::string(Packed ? "packed/" : "weights/") + Fmt::name(), {{"rows", sh.rows}, {"cols", sh.cols}}),
        [sh] { return weight_matrix<Fmt, Packed>(sh); });
}

/// y = W x. Rates: weight bytes, weights, 2 FLOP per weight.
template <class Fmt, bool Packed>
void bench_gemv(benchmark::State& state, shape sh, std::size_t threads) {
    const auto w = weights<Fmt, Packed>(sh);
    const auto view = w->view();
    const aligned_bytes x = floats(sh.cols), y(sh.rows * sizeof(float));
    with_executor(threads, [&](auto& exec) {
        for (auto _ : state) {
            lowbit::gemv(view, as<const float>(x), as<float>(y), {}, exec, backend{});
            benchmark::ClobberMemory();
        }
    });
    const double n = static_cast<double>(sh.rows) * static_cast<double>(sh.cols);
    set_rates(state, w->size(), n, 2.0 * n, lowbit::runtime_backend());
}

/// Y = X W^T with X batch x cols, Y batch x rows. Rates: weight bytes and weights (once per call), 2 FLOP per
/// weight and activation row.
template <class Fmt, bool Packed>
void bench_gemm(benchmark::State& state, shape sh, std::size_t batch, std::size_t threads) {
    const auto w = weights<Fmt, Packed>(sh);
    const auto view = w->view();
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
    set_rates(state, w->size(), n, 2.0 * n * static_cast<double>(batch), lowbit::runtime_backend());
}

template <class Fmt, bool Packed>
void register_format(const suite_sizes& s) {
    const std::string tail =
        std::string("/") + Fmt::name() + (Packed ? "-packed/" : "/") + lowbit::runtime_backend();
    const auto add_gemv = [&](shape sh, std::size_t threads) {
        add(bench_name("gemv" + tail, {{"rows", sh.rows}, {"cols", sh.cols}, {"threads", threads}}),
            [sh, threads](benchmark::State& st) { bench_gemv<Fmt, Packed>(st, sh, threads); }, threads);
    };
    for (shape sh : sweep_shapes<Fmt>(s)) {
        if (Packed) sh.rows = (sh.rows + 15) / 16 * 16;  // whole panels: no padding rows in the figures
        for (const std::size_t t : s.sweep_threads) add_gemv(sh, t);
    }
    for (const shape sh : s.layers)
        for (const std::size_t t : s.threads) add_gemv(sh, t);
    const bool reference = std::string(lowbit::runtime_backend()) == lowbit::arch::scalar::name();
    for (const shape sh : s.gemm_layers)
        for (const std::size_t batch : reference ? s.scalar_batches : s.batches)
            for (const std::size_t t : s.threads)
                add(bench_name("gemm" + tail, {{"rows", sh.rows}, {"cols", sh.cols}, {"batch", batch}, {"threads", t}}),
                    [sh, batch, t](benchmark::State& st) { bench_gemm<Fmt, Packed>(st, sh, batch, t); }, t);
}

}  // namespace

void register_matmul_benchmarks(const suite_sizes& s) {
    for_weight_formats([&](auto format) {
        using Fmt = decltype(format);
        register_format<Fmt, false>(s);
        if constexpr (lowbit::packed_layout<Fmt>::supported) register_format<Fmt, true>(s);
    });
}

}  // namespace lowbit_bench
