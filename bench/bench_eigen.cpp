// The float baseline: Eigen (single-threaded) on the same shapes as lowbit_bench's gemv and gemm, named
//   eigen_gemv/rows:R/cols:C and eigen_gemm/rows:R/cols:C/batch:B.
// Compiled with the flags of one x86 level per executable (lowbit_bench_eigen_avx2, lowbit_bench_eigen_avx512;
// bench/CMakeLists.txt says why not in lowbit_bench), so Eigen's kernels use that level's vector width.
#include "bench_common.hpp"

#include <Eigen/Core>

#include <set>

namespace lowbit_bench {

namespace {

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The float weights of a rows x cols layer, kept across calls (235 MB for 4096 x 14336).
std::shared_ptr<const aligned_bytes> float_weights(shape sh) {
    return cached<aligned_bytes>(bench_name("f32", {{"rows", sh.rows}, {"cols", sh.cols}}),
                                 [sh] { return floats(sh.rows * sh.cols); });
}

/// "f32 Eigen (AVX512F)": the widest instruction set Eigen's kernels use in this executable.
std::string eigen_label() {
    const std::string sets = Eigen::SimdInstructionSetsInUse();
    return "f32 Eigen (" + sets.substr(0, sets.find_first_of(" ,")) + ")";
}

/// Eigen y = W x, W row-major rows x cols. Rates: f32 weight bytes, weights, 2 FLOP per weight.
void bench_eigen_gemv(benchmark::State& state, shape sh) {
    const auto w = float_weights(sh);
    const aligned_bytes x = floats(sh.cols), y(sh.rows * sizeof(float));
    const Eigen::Map<const row_major> wm(as<const float>(*w), static_cast<Eigen::Index>(sh.rows),
                                         static_cast<Eigen::Index>(sh.cols));
    const Eigen::Map<const Eigen::VectorXf> xv(as<const float>(x), static_cast<Eigen::Index>(sh.cols));
    Eigen::Map<Eigen::VectorXf> yv(as<float>(y), static_cast<Eigen::Index>(sh.rows));
    for (auto _ : state) {
        yv.noalias() = wm * xv;
        benchmark::ClobberMemory();
    }
    const double n = static_cast<double>(sh.rows) * static_cast<double>(sh.cols);
    set_rates(state, 4.0 * n, n, 2.0 * n, eigen_label());
}

/// Eigen Y = X W^T with X batch x cols, Y batch x rows (row-major), as lowbit::gemm.
void bench_eigen_gemm(benchmark::State& state, shape sh, std::size_t batch) {
    const auto w = float_weights(sh);
    const aligned_bytes x = floats(batch * sh.cols), y(batch * sh.rows * sizeof(float));
    const auto rows = static_cast<Eigen::Index>(sh.rows), cols = static_cast<Eigen::Index>(sh.cols),
               b = static_cast<Eigen::Index>(batch);
    const Eigen::Map<const row_major> wm(as<const float>(*w), rows, cols), xm(as<const float>(x), b, cols);
    Eigen::Map<row_major> ym(as<float>(y), b, rows);
    for (auto _ : state) {
        ym.noalias() = xm * wm.transpose();
        benchmark::ClobberMemory();
    }
    const double n = static_cast<double>(sh.rows) * static_cast<double>(sh.cols);
    set_rates(state, 4.0 * n, n, 2.0 * n * static_cast<double>(batch), eigen_label());
}


}  // namespace

void register_eigen_benchmarks(const suite_sizes& s) {
    for (const shape sh : s.layers)
        add(bench_name("eigen_gemv", {{"rows", sh.rows}, {"cols", sh.cols}}),
            [sh](benchmark::State& st) { bench_eigen_gemv(st, sh); });
    // Every batch that some backend's gemm runs (the scalar reference's may be smaller).
    std::set<std::size_t> batches(s.batches.begin(), s.batches.end());
    batches.insert(s.scalar_batches.begin(), s.scalar_batches.end());
    for (const shape sh : s.gemm_layers)
        for (const std::size_t batch : batches)
            add(bench_name("eigen_gemm", {{"rows", sh.rows}, {"cols", sh.cols}, {"batch", batch}}),
                [sh, batch](benchmark::State& st) { bench_eigen_gemm(st, sh, batch); });
}

}  // namespace lowbit_bench
