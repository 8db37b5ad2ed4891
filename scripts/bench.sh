#!/usr/bin/env bash
# Builds the benchmarks (Release, without -march: target lowbit_benchmarks), then runs bench/report.py, which runs
# lowbit_bench once per backend (default: scalar, avx2 and the best one this CPU runs; --backends picks others)
# and the float Eigen baselines: markdown tables on stdout and in BUILD/bench-results/report.md, the JSON of each
# run, and a PNG plot.
# Usage: scripts/bench.sh [--quick | --full] [more bench/report.py options, see --help]
#        (--quick, the default, takes a few minutes on an idle 2-core machine; --full much longer)
# Environment: LOWBIT_BENCH_BUILD, the build folder (default: build-bench in the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LOWBIT_BENCH_BUILD:-$root/build-bench}

"$root/scripts/install-deps.sh"
# New build folders use Ninja where it is installed (install-deps.sh): unlike Make, it compiles a target's sources
# while the libraries it links are still being built.
command -v ninja >/dev/null && export CMAKE_GENERATOR=${CMAKE_GENERATOR:-Ninja}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWBIT_BUILD_BENCHMARKS=ON \
      -DLOWBIT_BUILD_EXAMPLES=OFF -DLOWBIT_BUILD_TOOLS=OFF
cmake --build "$build" --target lowbit_benchmarks -j"$(nproc)"

# matplotlib from PyPI, in a venv inside the build folder (pip skips the download once it is there).
venv=$build/venv
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/bench/requirements.txt"

"$venv/bin/python" "$root/bench/report.py" --build-dir "$build" "$@"
