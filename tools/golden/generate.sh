#!/usr/bin/env bash
# Regenerates tests/data/ (the golden vectors, and the GGUF files of tests/data/gguf/) with the versions of the
# gguf and numpy packages pinned in requirements.txt, from PyPI.
# Usage: tools/golden/generate.sh [venv-dir]     (default: /tmp/lowbit-golden-venv; created if missing)
# The output is deterministic: rerunning it must leave `git status tests/data` clean.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-/tmp/lowbit-golden-venv}

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
# requirements.txt pins numpy too: Generator streams (the random inputs) may change between numpy releases.
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tools/golden/requirements.txt"
"$venv/bin/python" "$root/tools/golden/gen_golden.py" "$root/tests/data"
"$venv/bin/python" "$root/tools/golden/gen_gguf.py" "$root/tests/data/gguf"
