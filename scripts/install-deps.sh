#!/usr/bin/env bash
# Installs what lowbit's build, tests and benchmarks need on Debian 12, skipping what is already there.
# Usage: scripts/install-deps.sh [--with-fuzz]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  cmake g++ make ninja-build python3 python3-venv
  libxsimd-dev libeigen3-dev catch2 libbenchmark-dev  # the library's and tests' dependencies
  libsimde-dev                                         # runs the AVX-512 kernels on machines without AVX-512
  g++-aarch64-linux-gnu qemu-user                      # builds the NEON backends and runs them under qemu
  clang-14 libclang-rt-14-dev                          # libFuzzer and a second compiler
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all ${#packages[@]} packages present"
