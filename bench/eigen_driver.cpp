// An Eigen baseline executable's side of driver.hpp (lowbit_bench_eigen_<level>). This file is compiled without
// -m flags and checks the CPU; the benchmarks (bench_eigen.cpp) are compiled with the level's flags, in a library
// linked after it (bench/CMakeLists.txt says why the linker then keeps this side's copies of shared code).
#include "bench_common.hpp"
#include "driver.hpp"

#include <stdexcept>

#if !defined(LOWBIT_BENCH_EIGEN_LEVEL)
#error "compile with -DLOWBIT_BENCH_EIGEN_LEVEL=<the backend tag whose flags the Eigen benchmarks use>"
#endif

namespace lowbit_bench {

namespace {
using level = lowbit::arch::LOWBIT_BENCH_EIGEN_LEVEL;
}  // namespace

std::vector<std::string> runnable_backends() {
    if (level::runs_on(lowbit::detect_cpu())) return {level::name()};
    return {};
}

std::string chosen_backend() {
    if (!level::runs_on(lowbit::detect_cpu()))
        throw std::runtime_error(std::string("this CPU cannot run the ") + level::name() +
                                 " instructions of this Eigen baseline");
    return level::name();
}

void register_benchmarks(const std::string& sizes) {
    register_eigen_benchmarks(make_sizes(sizes));
    register_calibration_benchmarks(make_sizes(sizes));
}

}  // namespace lowbit_bench
