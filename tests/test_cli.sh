#!/usr/bin/env bash
# Tests of the `lowbit` command-line tool (tools/cli.hpp), run by ctest:
#   test_cli.sh MODE DATA_DIR WORK_DIR [--no-memory-limit] LOWBIT_COMMAND...
# MODE golden: `lowbit quantize` / `dequantize` reproduce every gguf golden file in DATA_DIR byte for byte;
#      errors: every bad input gives its exit status and message, and leaves no output file behind;
#      stream: rows longer than the tool's 4 MiB buffers, NaN reported by row, and bounded memory on a large input.
# LOWBIT_COMMAND may start with an emulator (qemu-aarch64 ... path/to/lowbit). --no-memory-limit skips the
# `ulimit -v` check, which sanitizers and emulators (huge virtual reservations) cannot run under.
set -euo pipefail
mode=$1 data=$2 work=$3
shift 3
memory_limit=1
if [[ ${1-} == --no-memory-limit ]]; then
  memory_limit=0
  shift
fi
lowbit=("$@")
rm -rf "$work"
mkdir -p "$work"
cd "$work"

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect STATUS MESSAGE ARGS...: lowbit ARGS exits with STATUS and its stderr contains MESSAGE.
expect() {
  local status=$1 message=$2 rc=0
  shift 2
  "${lowbit[@]}" "$@" >stdout.txt 2>stderr.txt || rc=$?
  if [[ $rc != "$status" ]]; then
    fail "lowbit $* exited $rc, expected $status; stderr: $(cat stderr.txt)"
  elif ! grep -qF -- "$message" stderr.txt; then
    fail "lowbit $*: stderr lacks '$message': $(cat stderr.txt)"
  fi
}

# Writes the float32 NaN 0x7FC00000 as value INDEX of FILE, in place.
poke_nan() { printf '\x00\x00\xc0\x7f' | dd of="$1" bs=4 seek="$2" conv=notrunc status=none; }

case $mode in
golden)
  known=$("${lowbit[@]}" formats | awk '!/^#/ {print $1}')
  checked=0
  for bin in "$data"/*.gguf.bin; do
    fmt=$(basename "$bin" .gguf.bin)
    if ! grep -qx "$fmt" <<<"$known"; then
      echo "skip $fmt: not a format of this lowbit build"
      continue
    fi
    "${lowbit[@]}" dequantize --format "$fmt" --cols 256 "$bin" "$fmt.f32"
    cmp "$fmt.f32" "$data/$fmt.dequant.f32" || fail "dequantize $fmt differs from gguf"
    if [[ -f $data/$fmt.input.f32 ]]; then
      "${lowbit[@]}" quantize --format "$fmt" --cols 256 "$data/$fmt.input.f32" "$fmt.bin"
      cmp "$fmt.bin" "$bin" || fail "quantize $fmt differs from gguf"
      checked=$((checked + 1))
    fi
    echo "ok $fmt"
  done
  # Several rows per line, GGUF's upper-case names, and pipes give the same bytes.
  "${lowbit[@]}" quantize --format=Q4_0 --cols=1024 - - <"$data/q4_0.input.f32" >pipe.bin
  cmp pipe.bin "$data/q4_0.gguf.bin" || fail "quantize through pipes differs from gguf"
  [[ $checked -ge 5 ]] || fail "only $checked formats were checked against gguf's quantizer"
  ;;

errors)
  in=$data/q4_0.input.f32
  expect 2 "missing command"
  expect 2 "unknown command 'frobnicate'" frobnicate
  expect 2 "unknown format 'q3_0' (known formats: q8_0" quantize --format q3_0 --cols 256 "$in" out.bin
  expect 2 "--cols 48 is not a multiple of q4_0's block of 32 values" quantize --format q4_0 --cols 48 "$in" out.bin
  for cols in 0 -32 32x 1e3 99999999999999999999999; do
    expect 2 "--cols: '$cols' is not a positive number of columns" quantize --format q4_0 --cols "$cols" "$in" out.bin
  done
  expect 2 "missing --format FMT" quantize --cols 256 "$in" out.bin
  expect 2 "missing --cols N" dequantize --format q4_0 "$in" out.bin
  expect 2 "expected IN and OUT paths" quantize --format q4_0 --cols 256 "$in"
  expect 2 "too many arguments: 'extra'" quantize --format q4_0 --cols 256 "$in" out.bin extra
  expect 2 "unknown option '--colums'" quantize --format q4_0 --colums 256 "$in" out.bin
  expect 2 "--format needs a value" quantize --cols 256 "$in" out.bin --format
  expect 2 "'formats' takes no arguments" formats q4_0
  cp "$in" same.f32
  expect 2 "IN and OUT are the same file" quantize --format q4_0 --cols 256 same.f32 ./same.f32
  cmp same.f32 "$in" || fail "IN was modified although it is also OUT"
  expect 1 "cannot open 'missing.f32' for reading" quantize --format q4_0 --cols 256 missing.f32 out.bin
  mkdir -p a_directory
  expect 1 "cannot read 'a_directory'" quantize --format q4_0 --cols 256 a_directory out.bin
  expect 1 "cannot open 'no/such/dir/out.bin' for writing" quantize --format q4_0 --cols 256 "$in" no/such/dir/out.bin
  if [[ -w /dev/full ]]; then
    expect 1 "cannot write '/dev/full'" quantize --format q4_0 --cols 256 "$in" /dev/full
  fi
  head -c 1000 "$in" >partial.f32
  expect 1 "'partial.f32' ends inside a row: its size is not a multiple of 1024 bytes (a row of 256 columns as float32)" \
    quantize --format q4_0 --cols 256 partial.f32 out.bin
  head -c 100 "$data/q4_0.gguf.bin" >partial.bin
  expect 1 "not a multiple of 144 bytes (a row of 256 columns as q4_0 blocks)" \
    dequantize --format q4_0 --cols 256 partial.bin out.bin
  cp "$in" nan.f32
  poke_nan nan.f32 $((3 * 256 + 17))
  expect 1 "'nan.f32', row 3: quantize_row(q4_0): input 17 is nan; only finite values can be quantized" \
    quantize --format q4_0 --cols 256 nan.f32 out.bin
  printf '\x00\x00\x80\x7f' >inf.f32
  head -c 124 /dev/zero >>inf.f32
  expect 1 "input 0 is inf" quantize --format q8_0 --cols 32 inf.f32 out.bin
  [[ ! -e out.bin ]] || fail "a failed run left out.bin behind"
  "${lowbit[@]}" --help | grep -q "usage: lowbit quantize" || fail "--help prints no usage"
  "${lowbit[@]}" quantize --help | grep -q "usage: lowbit quantize" || fail "quantize --help prints no usage"
  "${lowbit[@]}" --version | grep -Eq "^lowbit [0-9]+\.[0-9]+\.[0-9]+ \(backend " || fail "--version"
  "${lowbit[@]}" formats | grep -Eq "^q4_0 +32 +18 +4.5$" || fail "formats lacks the q4_0 line"
  ;;

stream)
  # 410 copies of the golden input read as 2 rows of 1049600 columns: each row (4100 KiB of floats) is longer
  # than the tool's 4 MiB buffers, so chunks end inside rows and the second chunk spans both rows.
  copies=410
  cols=$((copies * 20 * 256 / 2))
  for ((i = 0; i < copies; ++i)); do cat "$data/q4_0.input.f32"; done >big.f32
  for ((i = 0; i < copies; ++i)); do cat "$data/q4_0.gguf.bin"; done >big.want.bin
  for ((i = 0; i < copies; ++i)); do cat "$data/q4_0.dequant.f32"; done >big.want.f32
  "${lowbit[@]}" quantize --format q4_0 --cols "$cols" big.f32 big.bin
  cmp big.bin big.want.bin || fail "long rows: quantize differs from gguf"
  "${lowbit[@]}" dequantize --format q4_0 --cols "$cols" big.bin big.f32
  cmp big.f32 big.want.f32 || fail "long rows: dequantize differs from gguf"
  poke_nan big.f32 $((cols + 1048000))
  expect 1 "'big.f32', row 1, from column " quantize --format q4_0 --cols "$cols" big.f32 big.bin
  grep -qF "is nan" stderr.txt || fail "NaN in a long row: $(cat stderr.txt)"
  if [[ $memory_limit == 1 ]]; then
    # 256 MiB through pipes under a 64 MiB address-space limit: memory does not grow with the input.
    (ulimit -v 65536 && head -c 268435456 /dev/zero | "${lowbit[@]}" quantize --format q8_0 --cols 4096 - - |
      "${lowbit[@]}" dequantize --format q8_0 --cols 4096 - - | wc -c) >size.txt ||
      fail "256 MiB through quantize and dequantize under a 64 MiB limit failed"
    [[ $(cat size.txt) == 268435456 ]] || fail "256 MiB through quantize and dequantize gave $(cat size.txt) bytes"
  fi
  ;;

*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac

if [[ $failures != 0 ]]; then
  echo "$failures failures" >&2
  exit 1
fi
echo "cli $mode: all checks passed"
