#!/usr/bin/env bash
# Tests of the `lowbit` command-line tool (tools/cli.hpp), run by ctest:
#   test_cli.sh MODE DATA_DIR WORK_DIR [--no-memory-limit] LOWBIT_COMMAND...
# MODE golden: `lowbit quantize` / `dequantize` reproduce every gguf golden file in DATA_DIR byte for byte;
#      --method and --importance, and `lowbit error`'s statistics (those of quantize + dequantize);
#      errors: every bad input gives its exit status and message, and leaves no output file behind;
#      stream: rows longer than the tool's 4 MiB buffers, NaN reported by row, and bounded memory on a large input;
#      inspect: `lowbit inspect` on the GGUF files of DATA_DIR/gguf/ (tools/golden/gen_gguf.py), and on bad ones;
#      requantize: `lowbit requantize`'s choice of format per tensor (pure types, llama.cpp's mixes, fallbacks), the
#        same bytes for any thread count, kept tensors and metadata byte for byte, and its errors;
#      bench_model: `lowbit bench-model` reports every figure, and its errors;
#      calibration: --method seqmse|gptq with --calib (quantize, error's output_snr_db, requantize --calib DIR);
#      gguf_python: files written by requantize, read by the `gguf` Python package (tests/gguf_readback.py) in a
#        virtual environment made once under WORK/.. with the pinned versions of tools/golden/requirements.txt.
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
# Pipelines from lowbit into grep use grep without -q: -q stops reading at the first match, and lowbit writing the
# rest would then die of SIGPIPE, failing the pipeline (pipefail) at random.
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

# Writes COUNT float32 1.0 to FILE: importance weights that weigh every column alike.
ones() { for ((i = 0; i < $2; ++i)); do printf '\x00\x00\x80\x3f'; done >"$1"; }

# stat_of FILE KEY: the value of KEY in `lowbit error`'s output FILE.
stat_of() { awk -v key="$2" '$1 == key {print $2}' "$1"; }

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

  # --method rtn is the default; search with all-1 importance is search without importance.
  in=$data/q4_0.input.f32
  "${lowbit[@]}" quantize --format q4_0 --cols 256 --method rtn "$in" rtn.bin
  cmp rtn.bin "$data/q4_0.gguf.bin" || fail "quantize --method rtn differs from gguf"
  ones ones.f32 256
  "${lowbit[@]}" quantize --format q4_K --cols 256 --method search "$in" search.bin
  "${lowbit[@]}" quantize --format q4_K --cols 256 --method=search --importance=ones.f32 "$in" search_ones.bin
  cmp search.bin search_ones.bin || fail "quantize --method search: importance of all 1 changed the blocks"
  cmp -s search.bin <("${lowbit[@]}" quantize --format q4_K --cols 256 "$in" -) && fail "search gave rtn's q4_K blocks"

  # error prints every statistic; its RMSE is that of quantize + dequantize (recomputed here with od and awk),
  # its weighted RMSE with weights of 1 the plain RMSE, and search's SNR is at least rtn's.
  "${lowbit[@]}" error --format q4_K --cols 256 --method search --importance ones.f32 "$in" >search.txt
  for key in format method values bits_per_weight rmse max_abs_error snr_db weighted_rmse; do
    [[ -n $(stat_of search.txt $key) ]] || fail "error output lacks $key: $(cat search.txt)"
  done
  [[ $(stat_of search.txt bits_per_weight) == 4.5 && $(stat_of search.txt values) == 5120 ]] || fail "error: $(cat search.txt)"
  [[ $(stat_of search.txt weighted_rmse) == $(stat_of search.txt rmse) ]] || fail "weighted RMSE with weights 1 != RMSE"
  "${lowbit[@]}" dequantize --format q4_K --cols 256 search.bin search.f32
  paste <(od -An -v -w4 -f "$in") <(od -An -v -w4 -f search.f32) |
    awk -v got="$(stat_of search.txt rmse)" '{e = $1 - $2; s += e * e; n++}
      END {want = sqrt(s / n); exit !(n == 5120 && (got - want)^2 <= (1e-5 * want)^2)}' ||
    fail "error's RMSE $(stat_of search.txt rmse) is not that of quantize + dequantize"
  # (the ternary formats on their own inputs: q4_0's reach 1e5, beyond their fp16 d = max |x|; their rtn SNR is low)
  for fmt in q4_0 q4_K q2_K q8_0 iq4_nl iq4_xs mxfp4 iq3_xxs iq2_xs iq1_m tq2_0 tq1_0 tcq3 tcq2; do
    src=$in least=5
    [[ $fmt == tq* ]] && src=$data/$fmt.input.f32 least=0
    [[ $fmt == iq1* ]] && least=0
    "${lowbit[@]}" error --format $fmt --cols 256 "$src" >rtn.txt
    "${lowbit[@]}" error --format $fmt --cols 256 --method search "$src" >search.txt
    [[ -z $(stat_of rtn.txt weighted_rmse) ]] || fail "error printed a weighted RMSE without --importance"
    awk -v s="$(stat_of search.txt snr_db)" -v r="$(stat_of rtn.txt snr_db)" -v least=$least \
      'BEGIN {exit !(s >= r && r > least)}' ||
      fail "$fmt: search's SNR $(stat_of search.txt snr_db) dB < rtn's $(stat_of rtn.txt snr_db) dB"
  done
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
  expect 1 "'nan.f32', row 3: fake_quantize_row(q4_0): input 17 is nan" error --format q4_0 --cols 256 nan.f32
  : >empty.f32
  expect 1 "'empty.f32' holds no rows" error --format q4_0 --cols 256 empty.f32
  expect 2 "expected IN path" error --format q4_0 --cols 256
  expect 2 "too many arguments: 'extra' after IN" error --format q4_0 --cols 256 "$in" extra
  expect 2 "--method: 'best' is not rtn, search, seqmse or gptq" quantize --format q4_0 --cols 256 --method best "$in" out.bin
  expect 2 "--method search supports the weight formats only, not q8_1" error --format q8_1 --cols 256 --method search "$in"
  expect 2 "'dequantize' takes no --method" dequantize --format q4_0 --cols 256 --method rtn "$in" out.bin
  expect 2 "--importance needs a value" error --format q4_0 --cols 256 "$in" --importance
  ones ones.f32 256
  head -c 1020 ones.f32 >short.f32
  cat ones.f32 ones.f32 >long.f32
  for w in short.f32 long.f32; do
    expect 1 "importance file '$w' must hold exactly 256 float32 weights (1024 bytes), one per column" \
      quantize --format q4_0 --cols 256 --method search --importance $w "$in" out.bin
  done
  expect 1 "cannot open 'no_weights.f32' for reading" error --format q4_0 --cols 256 --importance no_weights.f32 "$in"
  poke_nan ones.f32 7
  expect 1 "importance file 'ones.f32': weight 7 is nan; weights must be finite and >= 0" \
    quantize --format q4_K --cols 256 --importance ones.f32 "$in" out.bin
  [[ ! -e out.bin ]] || fail "a failed run left out.bin behind"
  "${lowbit[@]}" --help | grep "usage: lowbit quantize" >/dev/null || fail "--help prints no usage"
  "${lowbit[@]}" quantize --help | grep "usage: lowbit quantize" >/dev/null || fail "quantize --help prints no usage"
  "${lowbit[@]}" --version | grep -E "^lowbit [0-9]+\.[0-9]+\.[0-9]+ \(backend " >/dev/null || fail "--version"
  "${lowbit[@]}" formats | grep -E "^q4_0 +32 +18 +4.5$" >/dev/null || fail "formats lacks the q4_0 line"
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

inspect)
  model=$data/gguf/tiny_llama.gguf
  "${lowbit[@]}" inspect "$model" >inspect.txt
  # "key value" lines: the metadata summary, a tensor, a type's totals, the totals, and the KV cache of 2 x 1 layer
  # x 2 KV heads x 64 / 4 values x 256 tokens = 16384 values at 2, 34/32 and 18/32 bytes each.
  while read -r key want; do
    [[ $(awk -v key="$key" '$1 == key {$1 = ""; sub(/^ +/, ""); gsub(/ +/, " "); print}' inspect.txt) == "$want" ]] ||
      fail "inspect: $key is not '$want': $(cat inspect.txt)"
  done <<'END'
gguf_version 3
general.architecture llama
general.name tiny llama
llama.context_length 256
llama.block_count 1
llama.attention.head_count_kv 2
blk.0.ffn_gate_exps.weight q8_0 64 x 3 x 5 1020
q6_K 1 4352 3570 6.5625
tensors 8
weights 14208
bits_per_weight 7.4223
weight_memory 13182 (0.01 MiB)
kv_context 256
kv_cache_f16 32768 (0.03 MiB)
kv_cache_q8_0 17408 (0.02 MiB)
kv_cache_q4_0 9216 (0.01 MiB)
END
  "${lowbit[@]}" inspect --context 4096 "$model" | grep -E "^kv_cache_q8_0 +278528 " >/dev/null || fail "inspect --context 4096"
  "${lowbit[@]}" inspect "$data/gguf/all_types.gguf" >all_types.txt
  grep -Eq "^iq2_xxs +1 +256 +66 " all_types.txt || fail "inspect: iq2_xxs totals: $(cat all_types.txt)"
  grep -q "^kv_cache  *unknown: needs" all_types.txt || fail "inspect: no KV keys: $(cat all_types.txt)"
  head -c 1000 "$model" >truncated.gguf
  expect 1 "lowbit: gguf: metadata 'test.nested' at offset 997: array length (8 bytes) runs past the end of the file" \
    inspect truncated.gguf
  expect 1 "gguf: cannot read 'missing.gguf'" inspect missing.gguf
  expect 2 "--context: '0' is not a positive number of tokens" inspect "$model" --context 0
  expect 2 "expected FILE.gguf path" inspect
  expect 2 "'inspect' takes no --format" inspect "$model" --format q4_0
  ;;

requantize)
  model=$data/gguf/mix_llama.gguf
  # types FILE: "name type" per tensor, from inspect's table.
  types() { "${lowbit[@]}" inspect "$1" | awk '/^# tensor/ {on = 1; next} on && NF == 0 {on = 0} on {print $1, $2}'; }
  # Q4_K_M on 16 layers with 8 heads per 2 KV heads: attn_v and ffn_down of layers 0 1 4 7 10 13 14 15 (llama.cpp's
  # use_more_bits) get q6_K, the other attn_v q5_K (GQA >= 4); ffn_down rows of 96 values are not whole K blocks:
  # q6_K falls back to q8_0, q4_K to q5_0. output q6_K; token embeddings, norms and rows of 40 values kept.
  "${lowbit[@]}" requantize "$model" q4_K_M.gguf --type Q4_K_M >stdout.txt 2>progress.txt ||
    fail "requantize Q4_K_M: $(cat progress.txt)"
  grep -Eq "^tensors +113 converted, 19 kept" stdout.txt || fail "requantize Q4_K_M summary: $(cat stdout.txt)"
  grep -q "^\[  5/132\] blk.0.attn_v.weight  *f16  *-> q6_K" progress.txt || fail "requantize progress: $(cat progress.txt)"
  types q4_K_M.gguf >q4_K_M.txt
  for i in $(seq 0 15); do
    more=q5_K down=q5_0
    case $i in 0 | 1 | 4 | 7 | 10 | 13 | 14 | 15) more=q6_K down=q8_0 ;; esac
    printf '%s\n' "blk.$i.attn_norm.weight f32" "blk.$i.attn_q.weight q4_K" "blk.$i.attn_k.weight q4_K" \
      "blk.$i.attn_v.weight $more" "blk.$i.attn_output.weight q4_K" "blk.$i.ffn_gate.weight q4_K" \
      "blk.$i.ffn_up.weight q4_K" "blk.$i.ffn_down.weight $down"
  done >expected.txt
  printf '%s\n' "token_embd.weight f32" "extra.odd.weight f32" "output_norm.weight f32" "output.weight q6_K" >>expected.txt
  [[ $(sort q4_K_M.txt) == $(sort expected.txt) ]] || fail "Q4_K_M types: $(diff <(sort expected.txt) <(sort q4_K_M.txt))"
  "${lowbit[@]}" inspect q4_K_M.gguf | grep -E "^general.name +mix llama$" >/dev/null || fail "requantize lost general.name"

  # Q3_K_M: attn_v q5_K in the first 2 layers, q4_K after; ffn_down q5_K in the first 16th (q5_1: 96 values),
  # q4_K (q5_0) after; attn_output q4_K; the rest q3_K.
  "${lowbit[@]}" requantize "$model" q3_K_M.gguf --type q3_k_m 2>/dev/null >/dev/null || fail "requantize Q3_K_M"
  types q3_K_M.gguf >q3_K_M.txt
  for want in "blk.0.attn_v.weight q5_K" "blk.1.attn_v.weight q5_K" "blk.2.attn_v.weight q4_K" \
    "blk.0.ffn_down.weight q5_1" "blk.1.ffn_down.weight q5_0" "blk.9.attn_output.weight q4_K" \
    "blk.9.attn_q.weight q3_K" "output.weight q6_K" "token_embd.weight f32"; do
    grep -qx "$want" q3_K_M.txt || fail "Q3_K_M: no '$want': $(cat q3_K_M.txt)"
  done

  # A pure type: every matrix in it, output and (asked for) the token embeddings too, on 1 thread and 2: the same
  # bytes. --method search is another quantizer: other bytes, same types.
  "${lowbit[@]}" requantize "$model" q4_0_t1.gguf --type q4_0 --embeddings --threads 1 2>/dev/null >/dev/null ||
    fail "requantize q4_0"
  "${lowbit[@]}" requantize "$model" q4_0_t2.gguf --type Q4_0 --embeddings --threads=2 2>/dev/null >/dev/null
  cmp -s q4_0_t1.gguf q4_0_t2.gguf || fail "requantize: 1 and 2 threads wrote different files"
  types q4_0_t1.gguf >q4_0.txt
  for want in "token_embd.weight q4_0" "blk.3.ffn_down.weight q4_0" "output.weight q4_0" "extra.odd.weight f32"; do
    grep -qx "$want" q4_0.txt || fail "q4_0: no '$want': $(cat q4_0.txt)"
  done
  "${lowbit[@]}" requantize "$model" q4_0_search.gguf --type q4_0 --embeddings --method search 2>/dev/null >/dev/null
  [[ $(types q4_0_search.gguf) == $(cat q4_0.txt) ]] || fail "--method search: other types"
  cmp -s q4_0_t1.gguf q4_0_search.gguf && fail "--method search wrote rtn's bytes"
  # A file already in the type is copied as it is, tensor for tensor.
  "${lowbit[@]}" requantize q4_0_t1.gguf again.gguf --type q4_0 --embeddings 2>/dev/null >/dev/null
  cmp -s <(tail -c 40000 q4_0_t1.gguf) <(tail -c 40000 again.gguf) || fail "requantize q4_0 -> q4_0 changed data"

  expect 2 "missing --type TYPE" requantize "$model" out.gguf
  expect 2 "unknown --type 'q4_K_X' (weight formats: q8_0, q6_K, q5_1, q5_0, q5_K, q4_1, q4_0, iq4_nl, q4_K, iq4_xs, mxfp4, iq3_s, q3_K, tcq3, iq3_xxs, q2_K, iq2_s, iq2_xs, tcq2, iq2_xxs, tq2_0, iq1_m, tq1_0, iq1_s; mixes: Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M)" \
    requantize "$model" out.gguf --type q4_K_X
  expect 2 "--type q8_K is an activation format, not a weight format" requantize "$model" out.gguf --type q8_K
  expect 2 "'requantize' takes no --importance" requantize "$model" out.gguf --type q4_0 --importance x
  expect 2 "--embeddings takes no value" requantize "$model" out.gguf --type q4_0 --embeddings=1
  expect 2 "IN.gguf and OUT.gguf are the same file" requantize q4_0_t1.gguf ./q4_0_t1.gguf --type q4_0
  expect 2 "expected IN.gguf and OUT.gguf paths" requantize "$model" --type q4_0
  expect 1 "gguf: cannot read 'missing.gguf'" requantize missing.gguf out.gguf --type q4_0
  # tiny_llama's K tensors hold random block bytes: values past fp16's range, which q5_1 cannot scale.
  expect 1 "tensor 'blk.0.ffn_up.weight', row 0: quantize_row(q5_1)" \
    requantize "$data/gguf/tiny_llama.gguf" out.gguf --type q5_1
  [[ -e out.gguf ]] && fail "a failed requantize left out.gguf behind"
  expect 1 "cannot open '/nonexistent/out.gguf' for writing" requantize "$model" /nonexistent/out.gguf --type q4_0
  ;;

bench_model)
  "${lowbit[@]}" requantize "$data/gguf/mix_llama.gguf" model.gguf --type Q4_K_M 2>/dev/null >/dev/null
  "${lowbit[@]}" bench-model model.gguf --threads 2 --batch 4 --seconds 0.05 >bench.txt || fail "bench-model"
  # 16 layers x 7 matrices and output.weight; the token embeddings are looked up, not multiplied.
  grep -Eq "^timed +113 tensors, 54784 weights" bench.txt || fail "bench-model: timed tensors: $(cat bench.txt)"
  grep -Eq "^not_timed +1 weight tensors in f32" bench.txt || fail "bench-model: extra.odd (f32) not reported"
  grep -Eq "^backend +.*, 2 threads$" bench.txt || fail "bench-model: threads: $(cat bench.txt)"
  for key in read_bandwidth ms_per_token weights_read ms_per_batch throughput; do
    awk -v key="$key" '$1 == key && $2 + 0 > 0 {found = 1} END {exit !found}' bench.txt ||
      fail "bench-model: no positive $key: $(cat bench.txt)"
  done
  [[ $(grep -c "^tokens_per_s " bench.txt) == 2 ]] || fail "bench-model: tokens_per_s of generation and prompt"
  grep -Eq "^layout +plain " bench.txt || fail "bench-model: layout: $(cat bench.txt)"
  "${lowbit[@]}" bench-model model.gguf --threads 1 --batch 2 --seconds 0.02 --packed >packed.txt ||
    fail "bench-model --packed"
  grep -Eq "^layout +packed " packed.txt || fail "bench-model --packed: layout: $(cat packed.txt)"
  # Packed panels are 16 rows: these matrices of 2 rows are read as 16.
  grep -Eq "^timed +113 tensors, 54784 weights, 0.25 MiB, 38.5841 bits per weight" packed.txt ||
    fail "bench-model --packed: bytes: $(cat packed.txt)"
  expect 1 "has no weight matrix in a format lowbit multiplies (it has f32, bf16, f16)" \
    bench-model "$data/gguf/mix_llama.gguf" --seconds 0.01
  expect 2 "--batch: '0' is not a positive number of rows" bench-model model.gguf --batch 0
  expect 2 "--seconds: 'x' is not a number of seconds" bench-model model.gguf --seconds x
  expect 2 "'bench-model' takes no --type" bench-model model.gguf --type q4_0
  ;;

calibration)
  # Activations of 256 columns with outliers (columns 3 and 77 are 50x the rest, the rest mixtures of 8 shared
  # directions), 512 tokens; weights: 96 rows. Written by Python's standard library (no numpy needed).
  python3 - <<'PY'
import random, struct
random.seed(5)
cols, tokens, rows = 256, 512, 96
dirs = [[random.gauss(0, 1) for _ in range(cols)] for _ in range(8)]
with open("acts.f32", "wb") as f:
    for _ in range(tokens):
        z = [random.gauss(0, 1) for _ in range(8)]
        x = [sum(z[k] * dirs[k][c] for k in range(8)) + 0.1 * random.gauss(0, 1) for c in range(cols)]
        x[3] *= 50
        x[77] *= 50
        f.write(struct.pack(f"<{cols}f", *x))
with open("w.f32", "wb") as f:
    for _ in range(rows):
        f.write(struct.pack(f"<{cols}f", *[random.gauss(0, 1) for _ in range(cols)]))
PY
  snr() { awk -v key="$2" '$1 == key {print $2}' "$1"; }
  for fmt in q4_0 q4_K q2_K; do
    for method in search seqmse gptq; do
      "${lowbit[@]}" error --format $fmt --cols 256 --method $method --calib acts.f32 w.f32 >"$fmt.$method.txt" ||
        fail "error --method $method --calib: $(cat "$fmt.$method.txt")"
      grep -q "^method  *$method$" "$fmt.$method.txt" || fail "error: method line: $(cat "$fmt.$method.txt")"
    done
    # The output SNR rises by more than 3 dB over search (weight-space) with either method.
    for method in seqmse gptq; do
      awk -v a="$(snr $fmt.$method.txt output_snr_db)" -v b="$(snr $fmt.search.txt output_snr_db)" 'BEGIN {exit !(a > b + 3)}' ||
        fail "$fmt $method: output_snr_db $(snr $fmt.$method.txt output_snr_db) not 3 dB above search's $(snr $fmt.search.txt output_snr_db)"
    done
  done
  # quantize writes what error measured: dequantized, the same bytes as error's reconstruction.
  "${lowbit[@]}" quantize --format q4_K --cols 256 --method gptq --calib acts.f32 w.f32 w.q4_K || fail "quantize gptq"
  [[ $(stat -c %s w.q4_K) == $((96 * 144)) ]] || fail "quantize gptq: $(stat -c %s w.q4_K) bytes"
  "${lowbit[@]}" quantize --format q4_K --cols 256 --method gptq --calib acts.f32 w.f32 again.q4_K
  cmp -s w.q4_K again.q4_K || fail "quantize gptq is not deterministic"
  "${lowbit[@]}" quantize --format q4_K --cols 256 --method search w.f32 search.q4_K
  cmp -s w.q4_K search.q4_K && fail "quantize gptq wrote search's bytes"

  expect 2 "--method gptq needs --calib ACTS.f32" quantize --format q4_0 --cols 256 --method gptq w.f32 out
  expect 2 "--calib is for --method seqmse or gptq" quantize --format q4_0 --cols 256 --calib acts.f32 w.f32 out
  expect 2 "--method seqmse supports the weight formats only, not q8_K" \
    quantize --format q8_K --cols 256 --method seqmse --calib acts.f32 w.f32 out
  expect 2 "--method: 'gptq2' is not rtn, search, seqmse or gptq" error --format q4_0 --cols 256 --method gptq2 w.f32
  head -c 1000 acts.f32 >short.f32
  expect 1 "calibration file 'short.f32' ends inside a row" error --format q4_0 --cols 256 --calib short.f32 w.f32
  : >empty.f32
  expect 1 "calibration file 'empty.f32' holds no rows" error --format q4_0 --cols 256 --calib empty.f32 w.f32
  cp acts.f32 nan.f32
  poke_nan nan.f32 300
  expect 1 "calibration file 'nan.f32', from row 0: calibration_stats::add: activation (1, 44) is nan" \
    quantize --format q4_0 --cols 256 --method gptq --calib nan.f32 w.f32 out
  [[ -e out ]] && fail "a failed quantize left its output behind"
  expect 2 "--calib: rows of 65536 columns; at most 32768" \
    error --format q4_0 --cols 65536 --calib acts.f32 w.f32

  # requantize --calib DIR: the tensors with DIR/<name>.f32 get gptq, the others search.
  model=$data/gguf/mix_llama.gguf
  mkdir -p calib
  cp acts.f32 calib/blk.0.attn_q.weight.f32
  cp acts.f32 calib/blk.3.ffn_up.weight.f32
  "${lowbit[@]}" requantize "$model" gptq.gguf --type q4_K --method gptq --calib calib >summary.txt 2>progress.txt ||
    fail "requantize --method gptq: $(cat progress.txt)"
  grep -Eq "^method +gptq \(2 tensors with activations in calib\), search for the others" summary.txt ||
    fail "requantize gptq summary: $(cat summary.txt)"
  grep -Eq "blk.0.attn_q.weight .* gptq" progress.txt || fail "requantize gptq progress: $(cat progress.txt)"
  grep -Eq "blk.0.attn_k.weight .* search" progress.txt || fail "requantize gptq progress: $(cat progress.txt)"
  expect 2 "--method gptq needs --calib DIR" requantize "$model" out.gguf --type q4_K --method gptq
  expect 2 "--calib: 'acts.f32' is not a directory" requantize "$model" out.gguf --type q4_K --method gptq --calib acts.f32
  ;;

gguf_python)
  venv=$work/../python-venv
  if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$data/../../tools/golden/requirements.txt"
  fi
  for type in Q4_K_M Q3_K_S q2_K q5_K q6_K q8_0 q4_0 q4_1 q5_0 q5_1; do
    "${lowbit[@]}" requantize "$data/gguf/mix_llama.gguf" "$type.gguf" --type "$type" --embeddings 2>/dev/null >/dev/null ||
      fail "requantize $type"
    "$venv/bin/python" "$data/../gguf_readback.py" "$data/gguf/mix_llama.gguf" "$type.gguf" ||
      fail "gguf cannot read requantize's $type file as written"
  done
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
