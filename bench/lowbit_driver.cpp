// lowbit_bench's side of driver.hpp: lowbit's kernels on the backend lowbit::dispatch chooses at run time. All of
// lowbit_bench is compiled without -m flags; each backend's kernels come from lowbit::dispatch's tables.
#include "bench_common.hpp"
#include "driver.hpp"

#if !defined(LOWBIT_BENCH_DISPATCH_BACKENDS)
#error "compile with -DLOWBIT_BENCH_DISPATCH_BACKENDS=\"<lowbit::dispatch's backends, comma-separated>\""
#endif

namespace lowbit_bench {

std::vector<std::string> runnable_backends() {
    const lowbit::cpu_features cpu = lowbit::detect_cpu();
    const std::string built = "," LOWBIT_BENCH_DISPATCH_BACKENDS ",";  // bench/CMakeLists.txt passes the list
    std::vector<std::string> names;
#define LOWBIT_BENCH_IF_RUNNABLE_(tag, flags) \
    if (lowbit::arch::tag::runs_on(cpu) && built.find("," #tag ",") != std::string::npos) names.push_back(#tag);
    LOWBIT_FOR_EACH_BACKEND(LOWBIT_BENCH_IF_RUNNABLE_)
#undef LOWBIT_BENCH_IF_RUNNABLE_
    return names;
}

std::string chosen_backend() { return lowbit::runtime_backend(); }

void register_benchmarks(const std::string& sizes) {
    const suite_sizes s = make_sizes(sizes);
    register_kernel_benchmarks(s);
    register_matmul_benchmarks(s);
    register_attention_benchmarks(s);
    register_limit_benchmarks(s);
    register_quality_benchmarks(s);
}

}  // namespace lowbit_bench
