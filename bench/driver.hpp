#pragma once
// The interface between the driver (main.cpp, compiled for the baseline x86-64 or AArch64 ISA) and the backend's
// benchmarks (bench_*.cpp, compiled with the backend's flags). The driver checks the CPU before any code compiled
// with the backend's flags runs: the compiler may use the backend's instructions anywhere in those sources, even
// in plain setup code (GCC puts AVX-512 instructions in std::vector code compiled with -mavx512f).
#include <string>

namespace lowbit_bench {

/// The backend's name, e.g. "avx512_vnni".
const char* backend_name();

/// Whether this CPU can run the backend's instructions.
bool cpu_runs_backend();

/// Registers every benchmark of the size set `sizes` (tiny, quick or full; throws std::invalid_argument on
/// another name).
void register_benchmarks(const std::string& sizes);

}  // namespace lowbit_bench
