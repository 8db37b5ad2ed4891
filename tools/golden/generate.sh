#!/usr/bin/env bash
# Regenerates tests/data/ (the golden vectors, and the GGUF files of tests/data/gguf/) with pinned versions of the
# gguf and numpy packages from PyPI.
# Usage: tools/golden/generate.sh [venv-dir]     (default: /tmp/lowbit-golden-venv; created if missing)
# The output is deterministic: rerunning it must leave `git status tests/data` clean.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-/tmp/lowbit-golden-venv}

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
# numpy is pinned too: Generator streams (the random inputs) may change between numpy releases.
"$venv/bin/pip" install --quiet --disable-pip-version-check gguf==0.19.0 numpy==2.4.6
"$venv/bin/python" "$root/tools/golden/gen_golden.py" "$root/tests/data"
"$venv/bin/python" "$root/tools/golden/gen_gguf.py" "$root/tests/data/gguf"
