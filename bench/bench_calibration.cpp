// calibration.hpp's methods on activations with outlier channels (tools/synthetic_activations.hpp), against the
// weight-space quantizers, named calibration/<format>/<method>/rows:R/cols:C/tokens:T, method one of rtn, search,
// search_imatrix (search weighted by diag H / tokens, llama.cpp's imatrix), seqmse, gptq, gptq_act_order.
// Counters: output_snr_db = 10 log10 sum w H w^T / sum e H e^T (e = w - w_hat: the layer's output error on the
// calibration tokens) and weight_snr_db. The time is one whole quantization: the statistics added from the
// activations, the method's factorization, and the matrix (at calibration_timed: issue #16's 4096 x 4096 layer
// with 4096 tokens, q4_K, seqmse and gptq, on 1 and 2 threads: the statistics and the factorization are one
// thread's work, the matrix is shared out by 64-row panels). Built into the Eigen executables (bench_eigen.cpp says why), so Eigen
// runs at that executable's vector width.
#include "bench_common.hpp"

#include <lowbit/calibration.hpp>
#include <synthetic_activations.hpp>

#include <cmath>

namespace lowbit_bench {

namespace {

enum class method { rtn, search, search_imatrix, seqmse, gptq, gptq_act_order };
constexpr const char* method_names[] = {"rtn", "search", "search_imatrix", "seqmse", "gptq", "gptq_act_order"};

struct layer_data {
    std::size_t rows, cols, tokens;
    std::vector<float> w, x;
};

std::shared_ptr<const layer_data> layer(std::size_t rows, std::size_t cols, std::size_t tokens) {
    return cached<layer_data>(bench_name("calibration_layer", {{"rows", rows}, {"cols", cols}, {"tokens", tokens}}),
                              [=] {
                                  layer_data d{rows, cols, tokens, std::vector<float>(rows * cols),
                                               lowbit::tools::synthetic_activations(tokens, cols, 16)};
                                  lowbit::tools::test_random rng(17);
                                  for (auto& v : d.w) v = rng.normal();
                                  return d;
                              });
}

template <class Fmt>
void bench_calibration(benchmark::State& state, std::size_t rows, std::size_t cols, std::size_t tokens, method m,
                       unsigned threads = 1) {
    const auto d = layer(rows, cols, tokens);
    const lowbit::matrix_view<const float> w(d->w.data(), rows, cols), x(d->x.data(), tokens, cols);
    std::vector<typename Fmt::block> q(rows * cols / Fmt::block_size);
    std::unique_ptr<lowbit::calibration_stats> stats;
    lowbit::thread_pool pool(threads);
    for (auto _ : state) {
        stats = std::make_unique<lowbit::calibration_stats>(cols);
        stats->add(x);
        lowbit::quant_options o;
        std::vector<float> imatrix;
        if (m == method::search || m == method::search_imatrix) o.method = lowbit::quant_method::search;
        if (m == method::search_imatrix) {
            imatrix = stats->importance();
            o.importance = imatrix.data();
        }
        if (m == method::seqmse) o.method = lowbit::quant_method::seqmse;
        if (m == method::gptq || m == method::gptq_act_order) o.method = lowbit::quant_method::gptq;
        o.act_order = m == method::gptq_act_order;
        o.calibration = stats.get();
        o.pool = threads > 1 ? &pool : nullptr;
        lowbit::quantize(w, lowbit::qmatrix_view<Fmt>(q.data(), rows, cols), o);
        benchmark::ClobberMemory();
    }
    std::vector<float> y(rows * cols);
    lowbit::dequantize(lowbit::const_qmatrix_view<Fmt>(q.data(), rows, cols), lowbit::matrix_view<float>(y.data(), rows, cols));
    const auto [err, energy] = stats->output_error(w, lowbit::matrix_view<const float>(y.data(), rows, cols));
    double werr = 0, wen = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        werr += (static_cast<double>(d->w[i]) - y[i]) * (static_cast<double>(d->w[i]) - y[i]);
        wen += static_cast<double>(d->w[i]) * d->w[i];
    }
    state.counters["output_snr_db"] = 10 * std::log10(energy / err);
    state.counters["weight_snr_db"] = 10 * std::log10(wen / werr);
    state.SetLabel(std::string("bits per weight ") + std::to_string(Fmt::bits_per_weight));
}

template <class... Fmts>
void register_formats(std::size_t rows, std::size_t cols, std::size_t tokens, lowbit::type_list<Fmts...>) {
    const auto one = [&](auto fmt) {
        using Fmt = decltype(fmt);
        if constexpr (lowbit::has_search<Fmt>)
            for (int k = 0; k < 6; ++k) {
                const auto m = static_cast<method>(k);
                add(bench_name(std::string("calibration/") + Fmt::name() + "/" + method_names[k],
                               {{"rows", rows}, {"cols", cols}, {"tokens", tokens}}),
                    [=](benchmark::State& st) { bench_calibration<Fmt>(st, rows, cols, tokens, m); })
                    ->Iterations(1);
            }
    };
    (one(Fmts{}), ...);
}

}  // namespace

void register_calibration_benchmarks(const suite_sizes& s) {
    for (const auto& [rows, cols, tokens] : s.calibration_quality) register_formats(rows, cols, tokens, lowbit::all_formats{});
    for (const auto& [rows, cols, tokens] : s.calibration_timed)
        for (const method m : {method::seqmse, method::gptq})
            for (const std::size_t threads : s.threads)
                add(bench_name(std::string("calibration/q4_K/") + method_names[static_cast<int>(m)],
                               {{"rows", rows}, {"cols", cols}, {"tokens", tokens}, {"threads", threads}}),
                    [=](benchmark::State& st) {
                        bench_calibration<lowbit::q4_K>(st, rows, cols, tokens, m, static_cast<unsigned>(threads));
                    },
                    threads)
                    ->Iterations(1);
}

}  // namespace lowbit_bench
