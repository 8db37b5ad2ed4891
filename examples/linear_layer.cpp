// A linear layer y = W x + b with q4_0 weights: quantize the float weights once, then run one token (gemv)
// and a prompt (gemm) on a thread pool; print the error against the float layer (Eigen) and the speed-up, for
// the plain GGUF layout and for the packed layout (lowbit::pack), which gives the same results, faster.
#include <lowbit/lowbit.hpp>
#include <lowbit/matmul.hpp>

#include <Eigen/Core>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class F>
double best_seconds(F&& f) {
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

double relative_error(const row_major& got, const row_major& want) {
    return static_cast<double>((got - want).norm() / want.norm());
}

}  // namespace

int main() {
    const std::size_t out_features = 2048, in_features = 4096, prompt = 32;
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    row_major w(out_features, in_features), x(prompt, in_features);
    for (float* p : {w.data(), x.data()})
        for (std::size_t i = 0, n = p == w.data() ? w.size() : x.size(); i < n; ++i) p[i] = normal(rng);
    Eigen::VectorXf bias = Eigen::VectorXf::Random(out_features);

    // Quantize once: 4.5 bits per weight instead of 32.
    std::vector<lowbit::q4_0::block> wq(out_features * in_features / lowbit::q4_0::block_size);
    lowbit::quantize(lowbit::matrix_view<const float>(w),
                     lowbit::qmatrix_view<lowbit::q4_0>(wq.data(), out_features, in_features));
    const lowbit::const_qmatrix_view<lowbit::q4_0> wv(wq.data(), out_features, in_features);
    lowbit::thread_pool pool;
    const lowbit::matmul_options opt{bias.data()};

    // The same weights, repacked 16 rows at a time for the fastest kernels (as many bytes as the plain layout).
    const lowbit::packed_matrix<lowbit::q4_0> packed(wv);

    std::printf("linear layer %zux%zu, q4_0 weights (%s, %u threads)\n", out_features, in_features,
                lowbit::backend_description<lowbit::default_backend>(), pool.size());
    row_major ref_token(1, out_features), ref_prompt(prompt, out_features);
    const double t_eigen_v = best_seconds([&] { ref_token.noalias() = x.row(0) * w.transpose() + bias.transpose(); });
    const double t_eigen_m = best_seconds(
        [&] { ref_prompt.noalias() = (x * w.transpose()).rowwise() + bias.transpose(); });

    const auto run = [&](const char* layout, const auto& weights) {
        // One token, then the whole prompt.
        row_major y_token(1, out_features), y_prompt(prompt, out_features);
        const double t_gemv = best_seconds([&] { lowbit::gemv(weights, x.row(0).data(), y_token.data(), opt, pool); });
        const double t_gemm = best_seconds([&] {
            lowbit::gemm(weights, lowbit::matrix_view<const float>(x), lowbit::matrix_view<float>(y_prompt), opt, pool);
        });
        std::printf("  %-6s gemv (1 token):    rel. error %.4f vs float, %8.1f us, %.1fx Eigen float\n", layout,
                    relative_error(y_token, ref_token), t_gemv * 1e6, t_eigen_v / t_gemv);
        std::printf("  %-6s gemm (%zu tokens): rel. error %.4f vs float, %8.1f us, %.1fx Eigen float\n", layout, prompt,
                    relative_error(y_prompt, ref_prompt), t_gemm * 1e6, t_eigen_m / t_gemm);
        return y_prompt;
    };
    const row_major plain_result = run("plain", wv), packed_result = run("packed", packed);
    if (plain_result != packed_result) {
        std::printf("packed and plain layouts disagree\n");
        return 1;
    }
    return 0;
}
