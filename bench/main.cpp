// The benchmark executables' main, compiled without any -m flags (see driver.hpp): where this CPU cannot run the
// chosen backend, it says why and exits with ctest's skip code before any backend code runs.
//
// Usage: lowbit_bench [--lowbit_sizes=tiny|quick|full] [Google Benchmark flags]   (LOWBIT_BACKEND=<tag> picks
//        the backend; default: the best this CPU runs), or lowbit_bench_eigen_<level> [the same flags].
//        Either with --lowbit_list_backends: print the backends it can measure on this CPU, one a line.
// bench/report.py runs lowbit_bench once per backend and every Eigen baseline, and turns the JSON into tables
// and a plot.
#include "driver.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace {
/// The exit status of a run whose backend this CPU cannot run: bench/CMakeLists.txt's SKIP_RETURN_CODE.
constexpr int cannot_run_status = 77;
}  // namespace

int main(int argc, char** argv) {
    // Our flags are taken out before Google Benchmark sees (and rejects) them.
    std::string sizes = "quick";
    bool list_backends = false;
    const std::string sizes_flag = "--lowbit_sizes=";
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind(sizes_flag, 0) == 0)
            sizes = arg.substr(sizes_flag.size());
        else if (arg == "--lowbit_list_backends")
            list_backends = true;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    if (list_backends) {
        for (const std::string& name : lowbit_bench::runnable_backends()) std::printf("%s\n", name.c_str());
        return 0;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    std::string backend;
    try {
        backend = lowbit_bench::chosen_backend();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "skipped: %s\n", e.what());
        return cannot_run_status;
    }
    try {
        lowbit_bench::register_benchmarks(sizes);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    benchmark::AddCustomContext("lowbit_backend", backend);
    benchmark::AddCustomContext("lowbit_sizes", sizes);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
