#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (a standalone CMake project, clang-14 with ASan and UBSan, AVX2
# kernels beside the scalar reference), replays the saved reproducers of fuzz/regressions/<target>/, then
# fuzzes each target for the given time starting from fuzz/corpus/<target>/. Fails on any finding; prints how
# many inputs each target ran. New corpus entries and crash inputs stay under the build directory.
# Usage: scripts/fuzz.sh [seconds-per-target, default 60] [build-dir, default build-fuzz]
# Environment: LOWBIT_FUZZ_CXX (default clang++-14), LOWBIT_FUZZ_TARGETS (default: every target; only these are built).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# New build folders use Ninja where it is installed (install-deps.sh): unlike Make, it compiles a target's sources
# while the libraries it links are still being built.
command -v ninja >/dev/null && export CMAKE_GENERATOR=${CMAKE_GENERATOR:-Ninja}
seconds=${1:-60}
build=$(realpath -m "${2:-$root/build-fuzz}")

cmake -S "$root/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="${LOWBIT_FUZZ_CXX:-clang++-14}" >/dev/null
targets=${LOWBIT_FUZZ_TARGETS:-"fuzz_roundtrip fuzz_decode_dot fuzz_packed fuzz_cli fuzz_gguf"}
# Only the chosen targets when LOWBIT_FUZZ_TARGETS names them (each takes a minute or more to compile).
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" ${LOWBIT_FUZZ_TARGETS:+--target $LOWBIT_FUZZ_TARGETS}

# One target's run: saved reproducers, then fuzzing; its line of the final table goes to $build/run/<target>/summary.
# Targets run as many at a time as there are cores (a fuzzer is one process).
fuzz_target() {
    local target=$1 exe=$build/$1 work=$build/run/$1 result=ok rc=0
    mkdir -p "$work/corpus" "$work/artifacts"
    if [[ ! -x $exe ]]; then
        echo "== $target: not built (see the cmake output), skipped"
        printf '%-16s %12s %10s  %s\n' "$target" - - "not built" >"$work/summary"
        return 0
    fi

    # Saved reproducers first: each must now pass.
    for input in "$root"/fuzz/regressions/"$target"/*; do
        [[ -f $input ]] || continue
        if ! "$exe" "$input" >"$work/regression.log" 2>&1 </dev/null; then
            echo "== $target: regression ${input#"$root"/} still fails:"
            grep -E "runtime error|check failed|ERROR: AddressSanitizer|^  " "$work/regression.log" | head -5 || true
            result="regressions fail"
        fi
    done

    # The working directory is the artifacts folder and every path is absolute: fuzz_cli changes directory
    # during each input.
    echo "== $target: fuzzing for ${seconds}s"
    (cd "$work/artifacts" && "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 -max_len=4096 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "$root/fuzz/corpus/$target" </dev/null) \
        >"$work/fuzz.log" 2>&1 || rc=$?
    local runs rate
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
    if [[ $rc -ne 0 ]]; then
        echo "== $target: FINDING (exit $rc); log $work/fuzz.log, input:"
        ls "$work"/artifacts/{crash,leak,timeout,oom}-* 2>/dev/null || true
        grep -E "runtime error|check failed|ERROR: (AddressSanitizer|libFuzzer)|^  " "$work/fuzz.log" | head -8 || true
        [[ $result == ok ]] && result="finding" || result+=", finding"
    fi
    printf '%-16s %12s %10s  %s\n' "$target" "${runs:-?}" "${rate:-?}" "$result" >"$work/summary"
}

for target in $targets; do
    while (( $(jobs -rp | wc -l) >= $(nproc) )); do wait -n || true; done
    rm -f "$build/run/$target/summary"
    fuzz_target "$target" &
done
wait

status=0
printf '\n%-16s %12s %10s  %s\n' "target" "executions" "exec/s" "result"
for target in $targets; do
    line=$(cat "$build/run/$target/summary" 2>/dev/null || printf '%-16s %12s %10s  %s' "$target" - - "no result")
    echo "$line"
    [[ $line == *"  ok" || $line == *"not built" ]] || status=1
done
exit $status
