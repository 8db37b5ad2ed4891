// Quantization quality and cost: quality/<format>/<method>/<data>/rows:R/cols:4096, method rtn or search, data
// normal (N(0, 1)) or student_t3 (Student-t with 3 degrees of freedom: heavy tails, as some weight matrices have).
// Counters: snr_db = 10 log10 sum x^2 / sum (x - y)^2 of the round trip, bits_per_weight, and
// seconds_per_4096x4096 (the quantization time scaled to a 4096 x 4096 matrix on one thread). The report plots SNR
// against bits per weight beside the rate-distortion bound of Gaussian data (6.02 dB per bit).
#include "bench_common.hpp"

#include <cmath>

namespace lowbit_bench {

namespace {

enum class data { normal, student_t3 };

std::shared_ptr<const std::vector<float>> values(data kind, std::size_t n) {
    const std::string name = bench_name(kind == data::normal ? "quality_normal" : "quality_t3", {{"n", n}});
    return cached<std::vector<float>>(name, [=] {
        std::mt19937_64 rng(kind == data::normal ? 11 : 13);
        std::normal_distribution<float> normal;
        std::student_t_distribution<float> student(3.0f);
        std::vector<float> x(n);
        for (float& v : x) v = kind == data::normal ? normal(rng) : student(rng);
        return x;
    });
}

template <class Fmt>
void bench_quality(benchmark::State& state, std::size_t rows, std::size_t cols, lowbit::quant_method method,
                   data kind) {
    const auto x = values(kind, rows * cols);
    std::vector<typename Fmt::block> q(rows * cols / Fmt::block_size);
    const lowbit::matrix_view<const float> w(x->data(), rows, cols);
    for (auto _ : state) {
        lowbit::quantize(w, lowbit::qmatrix_view<Fmt>(q.data(), rows, cols), lowbit::quant_options{method, nullptr},
                         backend{});
        benchmark::ClobberMemory();
    }
    std::vector<float> y(rows * cols);
    lowbit::dequantize(lowbit::const_qmatrix_view<Fmt>(q.data(), rows, cols),
                       lowbit::matrix_view<float>(y.data(), rows, cols), backend{});
    double signal = 0, noise = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        signal += static_cast<double>((*x)[i]) * (*x)[i];
        noise += (static_cast<double>((*x)[i]) - y[i]) * (static_cast<double>((*x)[i]) - y[i]);
    }
    state.counters["snr_db"] = 10 * std::log10(signal / noise);
    state.counters["bits_per_weight"] = Fmt::bits_per_weight;
    // kIsIterationInvariantRate | kInvert: seconds / (iterations * the value), the value the matrix's share of 4096^2.
    state.counters["seconds_per_4096x4096"] =
        benchmark::Counter(static_cast<double>(rows * cols) / (4096.0 * 4096.0),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

void register_quality_benchmarks(const suite_sizes& s) {
    if (s.quality_rows == 0) return;
    const std::size_t cols = 4096;
    for_weight_formats([&](auto format) {
        using Fmt = decltype(format);
        for (const auto method : {lowbit::quant_method::round_to_nearest, lowbit::quant_method::search})
            for (const data kind : {data::normal, data::student_t3}) {
                const std::string head = std::string("quality/") + Fmt::name() + "/" +
                                         (method == lowbit::quant_method::search ? "search" : "rtn") + "/" +
                                         (kind == data::normal ? "normal" : "student_t3");
                add(bench_name(head, {{"rows", s.quality_rows}, {"cols", cols}}),
                    [=](benchmark::State& st) { bench_quality<Fmt>(st, s.quality_rows, cols, method, kind); })
                    ->Iterations(1);
            }
    });
}

}  // namespace lowbit_bench
