#!/usr/bin/env bash
# Builds and runs every backend's tests: scalar, AVX2 and AVX-512 (emulated by SIMDe; native too where the CPU
# has it) on this x86-64 machine, then NEON, NEON+dotprod and NEON+i8mm cross-compiled and run under qemu-aarch64.
# Usage: scripts/test.sh [build-root]     (default: build)
# A test that runs past 30 minutes fails (--timeout) rather than holding CI: an emulated run that hangs is a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
jobs=$(nproc)

"$root/scripts/install-deps.sh"
# New build folders use Ninja where it is installed (install-deps.sh): unlike Make, it compiles a target's sources
# while the libraries it links are still being built.
command -v ninja >/dev/null && export CMAKE_GENERATOR=${CMAKE_GENERATOR:-Ninja}

cmake -S "$root" -B "$build/host" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build/host" -j"$jobs"
echo "== test.sh: host build done at $SECONDS s"
ctest --test-dir "$build/host" --output-on-failure --timeout 1800 -j"$jobs"
echo "== test.sh: host tests done at $SECONDS s"

cmake -S "$root" -B "$build/arm64" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DLOWBIT_BUILD_BENCHMARKS=OFF
cmake --build "$build/arm64" -j"$jobs"
echo "== test.sh: arm64 build done at $SECONDS s"
ctest --test-dir "$build/arm64" --output-on-failure --timeout 1800 -j"$jobs"
echo "== test.sh: arm64 tests done at $SECONDS s"
