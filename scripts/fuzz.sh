#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (a standalone CMake project, clang-14 with ASan and UBSan, AVX2
# kernels beside the scalar reference), replays the saved reproducers of fuzz/regressions/<target>/, then
# fuzzes each target for the given time starting from fuzz/corpus/<target>/. Fails on any finding; prints how
# many inputs each target ran. New corpus entries and crash inputs stay under the build directory.
# Usage: scripts/fuzz.sh [seconds-per-target, default 60] [build-dir, default build-fuzz]
# Environment: LOWBIT_FUZZ_CXX (default clang++-14), LOWBIT_FUZZ_TARGETS (default: every target; only these are built).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$(realpath -m "${2:-$root/build-fuzz}")

cmake -S "$root/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="${LOWBIT_FUZZ_CXX:-clang++-14}" >/dev/null
targets=${LOWBIT_FUZZ_TARGETS:-"fuzz_roundtrip fuzz_decode_dot fuzz_packed fuzz_cli fuzz_gguf"}
# Only the chosen targets when LOWBIT_FUZZ_TARGETS names them (each takes a minute or more to compile).
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" ${LOWBIT_FUZZ_TARGETS:+--target $LOWBIT_FUZZ_TARGETS}

status=0
summary=""
for target in $targets; do
    exe=$build/$target
    if [[ ! -x $exe ]]; then
        echo "== $target: not built (see the cmake output), skipped"
        summary+=$(printf '%-16s %12s %10s  %s' "$target" - - "not built")$'\n'
        continue
    fi
    work=$build/run/$target
    mkdir -p "$work/corpus" "$work/artifacts"

    # Saved reproducers first: each must now pass.
    result=ok
    for input in "$root"/fuzz/regressions/"$target"/*; do
        [[ -f $input ]] || continue
        if ! "$exe" "$input" >"$work/regression.log" 2>&1 </dev/null; then
            echo "== $target: regression ${input#"$root"/} still fails:"
            grep -E "runtime error|check failed|ERROR: AddressSanitizer|^  " "$work/regression.log" | head -5 || true
            result="regressions fail"
            status=1
        fi
    done

    # The working directory is the artifacts folder and every path is absolute: fuzz_cli changes directory
    # during each input.
    echo "== $target: fuzzing for ${seconds}s"
    rc=0
    (cd "$work/artifacts" && "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 -max_len=4096 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "$root/fuzz/corpus/$target" </dev/null) \
        >"$work/fuzz.log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
    if [[ $rc -ne 0 ]]; then
        echo "== $target: FINDING (exit $rc); log $work/fuzz.log, input:"
        ls "$work"/artifacts/{crash,leak,timeout,oom}-* 2>/dev/null || true
        grep -E "runtime error|check failed|ERROR: (AddressSanitizer|libFuzzer)|^  " "$work/fuzz.log" | head -8 || true
        [[ $result == ok ]] && result="finding" || result+=", finding"
        status=1
    fi
    summary+=$(printf '%-16s %12s %10s  %s' "$target" "${runs:-?}" "${rate:-?}" "$result")$'\n'
done

printf '\n%-16s %12s %10s  %s\n%s' "target" "executions" "exec/s" "result" "$summary"
exit $status
