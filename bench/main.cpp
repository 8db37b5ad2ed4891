// The benchmark executables' main, compiled without any backend's flags (see driver.hpp): on a CPU that cannot
// run the backend, it registers one benchmark that skips with an error, and no backend code runs at all.
//
// Usage: lowbit_bench_<backend> [--lowbit_sizes=tiny|quick|full] [Google Benchmark flags]
// bench/report.py runs every backend's executable and turns the JSON into tables and a plot.
#include "driver.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
    // Our one flag is taken out before Google Benchmark sees (and rejects) it.
    std::string sizes = "quick";
    const std::string flag = "--lowbit_sizes=";
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind(flag, 0) == 0)
            sizes = arg.substr(flag.size());
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const std::string backend = lowbit_bench::backend_name();
    const bool runs = lowbit_bench::cpu_runs_backend();
    if (runs) {
        try {
            lowbit_bench::register_benchmarks(sizes);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
    } else {
        const std::string why = "this CPU cannot run the " + backend + " backend";
        benchmark::RegisterBenchmark((backend + "/skipped").c_str(),
                                     [why](benchmark::State& state) { state.SkipWithError(why.c_str()); });
    }
    benchmark::AddCustomContext("lowbit_backend", backend);
    benchmark::AddCustomContext("lowbit_backend_runs", runs ? "yes" : "no (benchmarks skipped)");
    benchmark::AddCustomContext("lowbit_sizes", sizes);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
