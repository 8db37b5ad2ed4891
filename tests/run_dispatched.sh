#!/usr/bin/env bash
# Runs a command that uses lowbit::dispatch on one backend, ctest's way:
#   run_dispatched.sh LOWBIT_CLI BACKEND EMULATOR -- COMMAND...
# BACKEND: a backend tag, set as LOWBIT_BACKEND; empty: the one the CPU gets. EMULATOR: empty, or a CMake list
# (qemu-x86_64;-cpu;Haswell) that the probe runs under, as COMMAND does. The probe (`lowbit --version`) says
# which backend runs; where the CPU cannot run BACKEND it must fail with the dispatcher's clean error, and the
# test is skipped (exit 77).
set -uo pipefail
cli=$1 backend=$2 emulator=$3
shift 3
[[ ${1-} == -- ]] && shift
IFS=';' read -r -a emu <<<"$emulator"
if [[ -n $backend ]]; then export LOWBIT_BACKEND=$backend; else unset LOWBIT_BACKEND; fi

probe=$("${emu[@]}" "$cli" --version 2>&1 | grep -v '^qemu-x86_64: warning')
rc=${PIPESTATUS[0]}
if [[ $rc != 0 ]]; then
  if [[ -n $backend && $probe == *"this CPU cannot run the $backend backend"* ]]; then
    echo "skipped: $probe"
    exit 77
  fi
  echo "FAIL: '$cli --version' with LOWBIT_BACKEND=${backend:-unset} ${emulator:+under $emulator }exited $rc: $probe"
  exit 1
fi
echo "${emulator:+[$emulator] }$probe"
exec "$@"
