#pragma once
// The interface between the driver (main.cpp, compiled without any -m flags) and what an executable measures:
//   lowbit_bench (lowbit_driver.cpp): lowbit's kernels on the backend lowbit::dispatch chooses at run time;
//   lowbit_bench_eigen_<level> (eigen_driver.cpp): the float Eigen baseline, compiled with that level's flags.
// Both drivers are compiled without flags, so they can check the CPU before any code that may hold a backend's
// instructions runs (GCC puts AVX-512 instructions even in std::vector code compiled with -mavx512f).
#include <string>
#include <vector>

namespace lowbit_bench {

/// The backends this executable can measure on this CPU, best first (--lowbit_list_backends prints them):
/// lowbit_bench's are the backends of lowbit::dispatch that the CPU runs, an Eigen baseline's its level if the
/// CPU runs it.
std::vector<std::string> runnable_backends();

/// The backend this run measures (lowbit_bench: the one lowbit::dispatch chose, the best or LOWBIT_BACKEND's).
/// Throws std::exception saying why where this CPU cannot run it; nothing compiled with flags runs before.
std::string chosen_backend();

/// Registers every benchmark of the size set `sizes` (tiny, quick or full; throws std::invalid_argument on
/// another name). Call only after chosen_backend() returned.
void register_benchmarks(const std::string& sizes);

}  // namespace lowbit_bench
