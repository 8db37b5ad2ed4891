#!/usr/bin/env python3
"""Runs lowbit's benchmark executables and summarizes them.

build/bench/lowbit_bench (built without -march, with runtime dispatch) runs once per backend (LOWBIT_BACKEND=<tag>),
then every float Eigen baseline executable this CPU runs (build/bench/lowbit_bench_eigen_<level>). Each run
repeats every benchmark and keeps the median; its JSON goes to the output folder as bench_<backend>.json or
bench_eigen_<level>.json. The report (printed, and saved as report.md) has:
  * a summary table, one row per weight format: bits per weight, GEMV GB/s and % of read bandwidth, speed-up
    over float Eigen, GEMM GFLOP/s and % of the int8 peak;
  * one table per format with every gemv / gemm case on every backend;
  * the measured limits (read bandwidth, memcpy, int8 peak, float Eigen);
  * the weight memory of 7B, 8B and 70B parameter models in each format;
  * the quality of each format: SNR of the round trip of Gaussian and Student-t(3) rows, and the quantizer's time;
and PNG plots of throughput per bit-width (one line per op, the limits as horizontal lines) and of SNR per
bit-width beside the rate-distortion bound.

Usage: report.py [--quick | --full] [--build-dir DIR] [--out DIR] [--backends avx2,...|all] [--filter REGEX]
       report.py --from-json DIR        (re-render the report of an earlier run, without running anything)
scripts/bench.sh builds the executables, makes a venv with matplotlib and runs this script.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Backends, least to most capable: the order of columns, and of the search for "the best backend".
BACKEND_ORDER = ["scalar", "avx2", "avx_vnni", "avx512", "avx512_vnni", "neon", "neon_dotprod", "neon_i8mm"]
# Run by default, with the best backend this CPU runs: the reference and the common x86 baseline.
DEFAULT_BACKENDS = ["scalar", "avx2"]
# The int8 peak that bounds each backend's GEMM: the instructions its dot kernels use.
PEAK_FOR_BACKEND = {"scalar": "avx2", "avx2": "avx2", "avx_vnni": "avx_vnni", "avx512": "avx2",
                    "avx512_vnni": "avx512_vnni"}
KERNEL_OPS = ["quantize", "dequantize", "quantize_act", "dot", "gemv", "gemm"]
TIME_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
MODEL_PARAMS = [("7B", 7e9), ("8B", 8e9), ("70B", 70e9)]

MODES = {  # --lowbit_sizes, repetitions, --benchmark_min_time (seconds; Benchmark 1.7 takes a plain number)
    "quick": ("quick", 3, 0.05),
    "full": ("full", 5, 0.5),
}


@dataclass
class Result:
    """The median of one benchmark's repetitions."""

    kind: str  # a kernel op, attention_decode, attention_prefill, quality/<method>/<data>, or read_bw, memcpy,
    #            int8_peak, eigen_gemv, eigen_gemm
    fmt: str | None  # weight format of a kernel op; "<k>-<v>" of attention
    backend: str  # the run's: the lowbit backend, or eigen_<level> for a baseline executable
    isa: str | None  # int8_peak's instruction set
    args: dict[str, int]
    threads: int
    rates: dict[str, float]  # bytes_per_second, weights, FLOP, OP, tokens (per second)
    label: str = ""

    def shape(self) -> tuple[int, ...]:
        return tuple(self.args.get(k, 0) for k in ("rows", "cols", "batch"))


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # backend -> why it did not run
    caches: list[dict] = field(default_factory=list)
    context: dict = field(default_factory=dict)
    repetitions: int = 1


# ---------------------------------------------------------------------------------------------------------------
# Running and loading


@dataclass
class Job:
    """One run of a benchmark executable."""

    name: str  # the lowbit backend, or eigen_<level>: the JSON is bench_<name>.json
    exe: Path
    env: dict[str, str]


def runnable_backends(exe: Path) -> list[str]:
    """What the executable can measure on this CPU, best first (its --lowbit_list_backends)."""
    listed = subprocess.run([str(exe), "--lowbit_list_backends"], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def plan_jobs(build_dir: Path, wanted: str | None) -> tuple[list[Job], dict[str, str]]:
    """lowbit_bench once per backend: those of `wanted` (comma-separated, or "all" that this CPU runs), by
    default scalar, avx2 and the best one this CPU runs; then every Eigen baseline this CPU runs. Returns the jobs
    and, for the backends asked for that this CPU cannot run, why they are left out."""
    bench_dir = build_dir / "bench"
    lowbit_exe = bench_dir / "lowbit_bench"
    if not lowbit_exe.is_file():
        sys.exit(f"no {lowbit_exe} (build the lowbit_benchmarks target)")
    runnable = runnable_backends(lowbit_exe)
    if wanted == "all":
        names = runnable
    elif wanted:
        names = wanted.split(",")
    else:
        names = [b for b in DEFAULT_BACKENDS if b in runnable] + runnable[:1]
    names = sorted(set(names), key=backend_rank)
    left_out = {b: f"this CPU cannot run it (lowbit_bench runs {', '.join(runnable)} here)"
                for b in names if b not in runnable}
    jobs = [Job(b, lowbit_exe, {"LOWBIT_BACKEND": b}) for b in names if b in runnable]
    for exe in sorted(bench_dir.glob("lowbit_bench_eigen_*")):
        if exe.is_file() and runnable_backends(exe):
            jobs.append(Job(exe.name[len("lowbit_bench_"):], exe, {}))
    return jobs, left_out


def run_job(job: Job, json_path: Path, mode: str, reps: int, min_time: float, flt: str | None,
            verbose: bool) -> None:
    sizes = MODES[mode][0]
    cmd = [str(job.exe), f"--lowbit_sizes={sizes}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true", f"--benchmark_min_time={min_time}",
           f"--benchmark_out={json_path}", "--benchmark_out_format=json"]
    if flt:
        cmd.append(f"--benchmark_filter={flt}")
    print(f"running {' '.join([f'{k}={v}' for k, v in job.env.items()] + cmd)}", file=sys.stderr)
    start = time.monotonic()
    log_path = json_path.with_suffix(".log")
    done = 0
    with open(log_path, "w") as log, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                      text=True, env={**os.environ, **job.env}) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if verbose:
                sys.stderr.write(line)
            elif "/" in line.split(" ", 1)[0] and not line.split(" ", 1)[0].endswith(("_mean", "_stddev", "_cv")):
                done += 1  # one line per benchmark (its median when repeated)
                if sys.stderr.isatty():
                    sys.stderr.write(f"\r  {done} benchmarks, {time.monotonic() - start:.0f} s")
        rc = proc.wait()
    if sys.stderr.isatty() and not verbose:
        sys.stderr.write("\n")
    if rc != 0:
        sys.exit(f"{job.exe.name} ({job.name}) failed with exit code {rc}; its output is in {log_path}")
    print(f"  {job.name}: {time.monotonic() - start:.0f} s, JSON in {json_path}", file=sys.stderr)


def parse_name(name: str) -> tuple[list[str], dict[str, int]]:
    """'gemv/q4_0/avx2/rows:4096/cols:14336/threads:2/real_time' -> (['gemv', 'q4_0', 'avx2'], {...})."""
    parts, args = [], {}
    for part in name.split("/"):
        if ":" in part:
            key, value = part.split(":", 1)
            args[key] = int(value)
        elif part not in ("real_time", "process_time", "manual_time"):
            parts.append(part)
    return parts, args


def load_json(path: Path, run: Run) -> None:
    data = json.loads(path.read_text())
    ctx = data.get("context", {})
    backend = path.stem[len("bench_"):]  # the job's name (plan_jobs)
    run.caches = run.caches or ctx.get("caches", [])
    run.context = run.context or ctx
    rows = data.get("benchmarks", [])
    has_aggregates = any(r.get("run_type") == "aggregate" for r in rows)
    for r in rows:
        if r.get("error_occurred"):
            run.skipped.setdefault(backend, r.get("error_message", "skipped"))
            continue
        if has_aggregates and r.get("aggregate_name") != "median":
            continue
        run.repetitions = max(run.repetitions, int(r.get("repetitions", 1)))
        parts, args = parse_name(r.get("run_name", r["name"]))
        rates = {k: float(r[k]) for k in ("bytes_per_second", "weights", "FLOP", "OP", "tokens", "snr_db",
                                          "bits_per_weight", "seconds_per_4096x4096", "output_snr_db",
                                          "weight_snr_db") if k in r}
        threads = args.pop("threads", 1)
        kind = parts[0]
        fmt = parts[1] if kind in KERNEL_OPS else None
        if kind == "attention":  # attention/decode/<k>-<v>/<backend>/...: kind attention_decode, fmt "<k>-<v>"
            kind, fmt = f"attention_{parts[1]}", parts[2]
        if kind == "quality":  # quality/<format>/<method>/<data>/...: kind quality/<method>/<data>
            kind, fmt = f"quality/{parts[2]}/{parts[3]}", parts[1]
        if kind == "calibration":  # calibration/<format>/<method>/...: kind calibration/<method>, time in seconds
            kind, fmt = f"calibration/{parts[2]}", parts[1]
            rates["seconds"] = float(r.get("real_time", 0.0)) * TIME_UNIT_SECONDS[r.get("time_unit", "ns")]
        isa = parts[1] if kind == "int8_peak" else None
        run.results.append(Result(kind, fmt, backend, isa, args, threads, rates, r.get("label", "")))


# ---------------------------------------------------------------------------------------------------------------
# Lookups


def backend_rank(b: str) -> int:
    return BACKEND_ORDER.index(b) if b in BACKEND_ORDER else len(BACKEND_ORDER)


def kernel_backends(run: Run) -> list[str]:
    """The runs that measured lowbit's kernels (not the Eigen executables' calibration rows), best last."""
    return sorted({r.backend for r in run.results if r.kind in KERNEL_OPS}, key=backend_rank)


def cache_level(run: Run, nbytes: float) -> str:
    """Where a working set of nbytes fits: L1, L2, L3 (per-core sizes) or DRAM."""
    for level in (1, 2, 3):
        sizes = [c["size"] for c in run.caches if c.get("level") == level and c.get("type") != "Instruction"]
        if sizes and nbytes <= sizes[0]:
            return f"L{level}"
    return "DRAM"


def prefer_same_backend(candidates: list[Result], backend: str) -> Result | None:
    """The limit measured by the same executable if there is one, otherwise the highest value of any."""
    same = [c for c in candidates if c.backend == backend]
    pool = same or candidates
    return max(pool, key=lambda c: next(iter(c.rates.values()), 0.0)) if pool else None


def read_bw_for(run: Run, nbytes: float, threads: int, backend: str) -> Result | None:
    """read_bw at the size nearest to nbytes (log scale) and the same thread count."""
    cands = [r for r in run.results if r.kind == "read_bw" and r.threads == threads]
    if not cands:
        return None
    best = min(abs(math.log(r.args["bytes"] / nbytes)) for r in cands)
    return prefer_same_backend([r for r in cands if abs(math.log(r.args["bytes"] / nbytes)) == best], backend)


def int8_peak_for(run: Run, backend: str, threads: int) -> Result | None:
    isa = PEAK_FOR_BACKEND.get(backend)
    return prefer_same_backend(
        [r for r in run.results if r.kind == "int8_peak" and r.isa == isa and r.threads == threads], backend)


def eigen_for(run: Run, r: Result) -> Result | None:
    """The fastest float Eigen run of the same shape (Eigen is single-threaded; the baselines differ in its SIMD)."""
    kind = "eigen_" + r.kind
    cands = [e for e in run.results if e.kind == kind and e.shape() == r.shape()]
    return max(cands, key=lambda e: e.rates.get("FLOP", 0.0)) if cands else None


def bits_per_weight(run: Run) -> dict[str, float]:
    """8 x (weight bytes / s) / (weights / s) of the gemv and dot benchmarks, or the quality benchmarks' counter: no
    table of formats needed."""
    bpw, size = {}, {}
    for r in run.results:
        if r.kind.startswith("quality/") and r.fmt and "bits_per_weight" in r.rates:
            bpw.setdefault(r.fmt, r.rates["bits_per_weight"])
            size.setdefault(r.fmt, 0)
        if r.kind in ("dot", "gemv") and r.fmt and "weights" in r.rates and "bytes_per_second" in r.rates:
            # The largest case: a packed format's small matrices carry padding rows.
            n = r.args.get("n") or r.args.get("rows", 0) * r.args.get("cols", 0)
            if n > size.get(r.fmt, -1):
                size[r.fmt] = n
                bpw[r.fmt] = 8.0 * r.rates["bytes_per_second"] / r.rates["weights"]
    return bpw


def weight_bytes(r: Result, bpw: float) -> float:
    n = r.args.get("n") or r.args.get("rows", 0) * r.args.get("cols", 0)
    return n * bpw / 8.0


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def gb(x: float | None) -> str:
    return "–" if x is None else f"{x / 1e9:.1f}" if x < 1e11 else f"{x / 1e9:.0f}"


def pct(num: float | None, den: float | None) -> str:
    return "–" if not num or not den else f"{100.0 * num / den:.0f}%"


def ratio(num: float | None, den: float | None) -> str:
    return "–" if not num or not den else f"{num / den:.2f}×"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    aligns = ["---"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def shape_text(r: Result) -> str:
    text = f"{r.args['rows']}x{r.args['cols']}"
    return text + (f" batch {r.args['batch']}" if "batch" in r.args else "")


def headline(run: Run) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """The gemv shape with the most weights (sweep shapes excluded: they have no Eigen baseline), and the gemm
    shape with the most weights at its largest batch."""
    gemv = {e.shape() for e in run.results if e.kind == "eigen_gemv"}
    gemm = {e.shape() for e in run.results if e.kind == "eigen_gemm"}
    pick = lambda shapes: max(shapes, key=lambda s: (s[0] * s[1], s[2], s[1])) if shapes else None
    return pick(gemv), pick(gemm)


def formats_in_order(run: Run, bpw: dict[str, float]) -> list[str]:
    seen = []
    for r in run.results:
        if r.fmt in bpw and r.fmt not in seen:  # weight formats (attention's "<k>-<v>" have their own table)
            seen.append(r.fmt)
    return sorted(seen, key=lambda f: -bpw.get(f, 0.0))


def gemv_cells(run: Run, r: Result, bpw: float) -> tuple[str, str, str]:
    bw = read_bw_for(run, weight_bytes(r, bpw), r.threads, r.backend)
    eig = eigen_for(run, r)
    return (gb(r.rates.get("bytes_per_second")),
            pct(r.rates.get("bytes_per_second"), bw.rates.get("bytes_per_second") if bw else None),
            ratio(r.rates.get("FLOP"), eig.rates.get("FLOP") if eig else None))


def summary_table(run: Run, bpw: dict[str, float]) -> str:
    gemv_shape, gemm_shape = headline(run)
    rows = []
    for fmt in formats_in_order(run, bpw):
        def best(kind: str, shape) -> Result | None:
            cands = [r for r in run.results if r.kind == kind and r.fmt == fmt and r.threads == 1
                     and r.shape() == shape]
            return max(cands, key=lambda r: r.rates.get("FLOP", 0.0)) if cands else None
        def dram_pct(threads: int) -> str:
            """% read BW of the fastest gemv at this format's largest matrix (the sweep's DRAM level)."""
            cands = [r for r in run.results if r.kind == "gemv" and r.fmt == fmt and r.threads == threads]
            if not cands:
                return "–"
            n = max(r.args["rows"] * r.args["cols"] for r in cands)
            top = max((r for r in cands if r.args["rows"] * r.args["cols"] == n),
                      key=lambda r: r.rates.get("bytes_per_second", 0.0))
            bw = read_bw_for(run, weight_bytes(top, bpw[fmt]), threads, top.backend)
            return pct(top.rates.get("bytes_per_second"), bw.rates.get("bytes_per_second") if bw else None)
        gv, gm = best("gemv", gemv_shape), best("gemm", gemm_shape)
        cells = gemv_cells(run, gv, bpw[fmt]) if gv else ("–", "–", "–")
        peak = int8_peak_for(run, gm.backend, 1) if gm else None
        eig = eigen_for(run, gm) if gm else None
        rows.append([fmt, f"{bpw[fmt]:.2f}", gv.backend if gv else "–", *cells, dram_pct(1), dram_pct(2),
                     gm.backend if gm else "–", gb(gm.rates.get("FLOP")) if gm else "–",
                     pct(gm.rates.get("FLOP") if gm else None, peak.rates.get("OP") if peak else None),
                     ratio(gm.rates.get("FLOP") if gm else None, eig.rates.get("FLOP") if eig else None)])
    gv_txt = f"{gemv_shape[0]}x{gemv_shape[1]}" if gemv_shape else "?"
    gm_txt = f"{gemm_shape[0]}x{gemm_shape[1]} batch {gemm_shape[2]}" if gemm_shape else "?"
    header = ["format", "bits/weight", "GEMV backend", "GEMV GB/s", "% read BW", "× f32 Eigen",
              "DRAM GEMV % read BW, 1 thread", "2 threads", "GEMM backend", "GEMM GFLOP/s", "% int8 peak",
              "GEMM × f32 Eigen"]
    return (f"## Summary: GEMV {gv_txt}, GEMM {gm_txt}, 1 thread, fastest backend\n\n"
            "The DRAM columns take the largest GEMV of the working-set sweep (far beyond the last-level cache), "
            "on 1 and 2 threads.\n\n" + md_table(header, rows))


def format_tables(run: Run, bpw: dict[str, float]) -> str:
    backends = kernel_backends(run)
    out = []
    for fmt in formats_in_order(run, bpw):
        cases: dict[tuple, dict[str, Result]] = {}
        for r in run.results:
            if r.fmt == fmt and r.kind in ("gemv", "gemm"):
                cases.setdefault((r.kind, r.shape(), r.threads), {})[r.backend] = r
        rows = []
        for (kind, _shape, threads), by_backend in cases.items():
            any_r = next(iter(by_backend.values()))
            ws = cache_level(run, weight_bytes(any_r, bpw[fmt]))
            row = [f"{kind} {shape_text(any_r)}", str(threads), ws]
            for b in backends:
                r = by_backend.get(b)
                if r is None:
                    row.append("–")
                elif kind == "gemv":
                    bw_txt, bw_pct, eig = gemv_cells(run, r, bpw[fmt])
                    row.append(f"{bw_txt} GB/s · {bw_pct}" + (f" · {eig}" if eig != "–" else ""))
                else:
                    peak = int8_peak_for(run, b, threads)
                    eig = eigen_for(run, r)
                    row.append(f"{gb(r.rates.get('FLOP'))} GFLOP/s · "
                               f"{pct(r.rates.get('FLOP'), peak.rates.get('OP') if peak else None)}"
                               + (f" · {ratio(r.rates.get('FLOP'), eig.rates.get('FLOP'))}" if eig else ""))
            rows.append(row)
        if rows:
            out.append(f"### {fmt} ({bpw[fmt]:.2f} bits/weight)\n\n" + md_table(["case", "threads", "weights in"]
                                                                               + backends, rows))
    legend = ("Cells: gemv = GB/s of quantized weights · % of read bandwidth at the same size and thread count "
              "[· speed-up over single-threaded float Eigen, layer shapes]; gemm = GFLOP/s · % of the int8 peak "
              "of the backend's instructions at the same thread count [· speed-up over float Eigen].")
    return "## Per format\n\n" + legend + "\n\n" + "\n\n".join(out)


def kernel_table(run: Run, bpw: dict[str, float]) -> str:
    backends = kernel_backends(run)
    rows = []
    for fmt in formats_in_order(run, bpw):
        for op in ("quantize", "dequantize", "quantize_act", "dot"):
            cases: dict[int, dict[str, Result]] = {}
            for r in run.results:
                if r.fmt == fmt and r.kind == op:
                    cases.setdefault(r.args["n"], {})[r.backend] = r
            for n, by_backend in sorted(cases.items()):
                nbytes = weight_bytes(next(iter(by_backend.values())), bpw[fmt]) if op == "dot" else 4.0 * n
                rows.append([fmt, op, str(n), cache_level(run, nbytes)]
                            + [gb(by_backend[b].rates.get("bytes_per_second")) if b in by_backend else "–"
                               for b in backends])
    return ("## Row kernels (GB/s: float data for quantize / dequantize / quantize_act, quantized weights for dot)"
            "\n\n" + md_table(["format", "op", "values", "data in"] + backends, rows))


def limits_table(run: Run) -> str:
    rows = []
    for r in sorted((r for r in run.results if r.fmt is None),
                    key=lambda r: (r.kind, r.isa or "", r.args.get("bytes", 0), r.shape(), r.threads,
                                   backend_rank(r.backend))):
        if r.kind in ("read_bw", "memcpy"):
            what = f"{r.args['bytes'] / 2**20:.2f} MiB ({cache_level(run, r.args['bytes'])})"
            value = f"{gb(r.rates.get('bytes_per_second'))} GB/s"
        elif r.kind == "int8_peak":
            what, value = r.isa or "", f"{gb(r.rates.get('OP'))} GOPS"
        else:
            what, value = shape_text(r), f"{gb(r.rates.get('FLOP'))} GFLOP/s"
        rows.append([r.kind, what, str(r.threads), r.backend, value, r.label])
    return "## Limits and baselines\n\n" + md_table(["benchmark", "size", "threads", "run", "value", "label"], rows)


def attention_table(run: Run) -> str:
    """Decode: GB/s of KV cache read, % of read_bw at the cache's size, speed against the f16 cache; prefill: the
    multiply-adds (q.k and p.v) per second against the int8 peak."""
    rows = []
    decode = [r for r in run.results if r.kind == "attention_decode" and r.rates.get("tokens")]

    def cache_bytes(r: Result) -> float:
        """bytes per cached token (bytes / tokens read per second) times the context."""
        return r.args.get("ctx", 0) * r.rates["bytes_per_second"] / r.rates["tokens"]

    for r in sorted(decode, key=lambda r: (backend_rank(r.backend), r.args.get("ctx", 0), r.threads, r.fmt)):
        bw = read_bw_for(run, cache_bytes(r), r.threads, r.backend)
        f16 = next((e for e in decode if e.fmt == "f16-f16" and e.backend == r.backend and e.args == r.args
                    and e.threads == r.threads), None)
        rows.append([f"decode {r.fmt}", r.backend, str(r.args.get("ctx")), str(r.threads),
                     gb(r.rates.get("bytes_per_second")),
                     pct(r.rates.get("bytes_per_second"), bw.rates.get("bytes_per_second") if bw else None),
                     ratio(r.rates["tokens"], f16.rates["tokens"] if f16 else None), "–"])
    for r in sorted((r for r in run.results if r.kind == "attention_prefill"),
                    key=lambda r: (backend_rank(r.backend), r.threads, r.fmt)):
        peak = int8_peak_for(run, r.backend, r.threads)
        rows.append([f"prefill {r.fmt} ({r.args.get('queries')} queries)", r.backend, str(r.args.get("ctx")),
                     str(r.threads), "–", "–", "–",
                     f"{r.rates.get('FLOP', 0) / 1e9:.0f} GFLOP/s, "
                     f"{pct(r.rates.get('FLOP'), peak.rates.get('OP') if peak else None)} of int8 peak"])
    if not rows:
        return ""
    legend = ("Attention over a KV cache (attention.hpp): 32 query heads, 8 KV heads of 128 values. Decode reads the "
              "whole cache once per token: GB/s of cache, % of read_bw at the cache's size and thread count, and speed "
              "(tokens per second) against the f16 cache at the same context.")
    return "## Attention\n\n" + legend + "\n\n" + md_table(
        ["case", "backend", "context", "threads", "GB/s", "% read BW", "× f16", "prefill"], rows)


RD_DB_PER_BIT = 20 * math.log10(2)  # the rate-distortion bound of Gaussian data: 6.02 dB per bit


def quality_results(run: Run) -> dict[tuple[str, str], Result]:
    """(format, 'method/data') -> the quality result of the best backend that ran it (all give the same bytes)."""
    out: dict[tuple[str, str], Result] = {}
    for r in sorted((r for r in run.results if r.kind.startswith("quality/") and r.fmt),
                    key=lambda r: backend_rank(r.backend)):
        out[(r.fmt, r.kind[len("quality/"):])] = r
    return out


def quality_table(run: Run, bpw: dict[str, float]) -> str:
    q = quality_results(run)
    if not q:
        return ""
    fmts = sorted({f for f, _ in q}, key=lambda f: -bpw.get(f, 0.0))
    rows_ = next(iter(q.values())).args

    def cell(fmt: str, data: str, key: str, form: str) -> str:
        values = [q[(fmt, f"{m}/{data}")].rates.get(key) if (fmt, f"{m}/{data}") in q else None for m in ("rtn", "search")]
        return " / ".join("–" if v is None else format(v, form) for v in values)

    rows = [[f, f"{bpw.get(f, 0.0):.4g}", f"{RD_DB_PER_BIT * bpw.get(f, 0.0):.1f}", cell(f, "normal", "snr_db", ".2f"),
             cell(f, "student_t3", "snr_db", ".2f"), cell(f, "normal", "seconds_per_4096x4096", ".3g")] for f in fmts]
    return (f"## Quality (round trip of {rows_.get('rows')} rows of {rows_.get('cols')} values; rtn / search)\n\n"
            "SNR = 10 log10 (sum x^2 / sum (x - y)^2); the bound is the rate-distortion limit of Gaussian data at that rate "
            "(6.02 dB per bit); time: the quantizer on one thread, scaled to a 4096x4096 matrix.\n\n"
            + md_table(["format", "bits/weight", "bound N(0,1) dB", "SNR N(0,1) dB", "SNR t(3) dB", "s per 4096²"],
                       rows))


def calibration_table(run: Run) -> str:
    """bench_calibration's runs (in the Eigen executables): per format and method, the layer's output SNR on the
    calibration tokens, the weights' SNR and the time of one whole quantization; the widest Eigen run's."""
    cal = [r for r in run.results if r.kind.startswith("calibration/")]
    if not cal:
        return ""
    best_run = max({r.backend for r in cal})  # eigen_avx512 over eigen_avx2
    rows = []
    chosen = (r for r in cal if r.backend == best_run)
    for r in sorted(chosen, key=lambda r: (r.args.get("rows", 0) * r.args.get("cols", 0), r.threads)):
        shape = f"{r.args.get('rows')}x{r.args.get('cols')}, {r.args.get('tokens')} tokens"
        snr = lambda k: f"{r.rates[k]:.2f}" if k in r.rates else "–"
        rows.append([r.fmt or "", r.kind.split("/", 1)[1], shape, str(r.threads), snr("output_snr_db"),
                     snr("weight_snr_db"), f"{1e3 * r.rates.get('seconds', 0.0):.1f}"])
    return (f"## Calibration ({best_run})\n\n"
            "Output SNR = 10 log10 (sum w H w^T / sum e H e^T) on the calibration activations (outlier channels), "
            "e = w - w_hat; time: one whole quantization (statistics, factorization, matrix).\n\n"
            + md_table(["format", "method", "layer", "threads", "output SNR dB", "weight SNR dB", "ms"], rows))


def plot_quality(run: Run, bpw: dict[str, float], path: Path) -> bool:
    """SNR of the best method against bits per weight, one point per format for Gaussian (filled) and Student-t(3)
    (hollow) rows, with the rate-distortion bound of Gaussian data as a line. False without matplotlib or data."""
    q = quality_results(run)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MultipleLocator
        from matplotlib.transforms import Bbox
    except ImportError:
        return False
    if not q:
        return False
    fig, ax = plt.subplots(figsize=(11, 7), dpi=110)
    xs = [bpw[f] for f, _ in q if f in bpw]
    lo, hi = min(xs) - 0.25, max(xs) + 0.25
    ax.plot([lo, hi], [RD_DB_PER_BIT * lo, RD_DB_PER_BIT * hi], color="gray", linestyle="--", linewidth=1.2,
            label="rate-distortion bound, Gaussian data (6.02 dB per bit)")
    marks = []
    for data, colour, filled, label in (("normal", "tab:blue", True, "N(0,1)"), ("student_t3", "tab:red", False,
                                                                                 "Student-t(3)")):
        pts = []
        for f in sorted({f for f, _ in q}):
            best = max((q[(f, f"{m}/{data}")].rates.get("snr_db", -1e9) for m in ("rtn", "search")
                        if (f, f"{m}/{data}") in q), default=None)
            if best is not None and f in bpw:
                pts.append((bpw[f], best, f))
        lowbit_own = [p for p in pts if p[2].startswith("tcq")]
        others = [p for p in pts if not p[2].startswith("tcq")]
        for group, marker, suffix in ((others, "o", "GGUF formats"), (lowbit_own, "*", "lowbit's trellis formats")):
            if group:
                ax.scatter([p[0] for p in group], [p[1] for p in group], marker=marker, s=70 if marker == "*" else 30,
                           color=colour if filled else "white", edgecolors=colour, linewidths=1.2, zorder=3,
                           label=f"{label}, {suffix} (best of rtn / search)")
        marks += [(x, y, f, colour) for x, y, f in pts]
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(MultipleLocator(1.0))
    ax.xaxis.set_minor_locator(MultipleLocator(0.25))
    ax.set_xlabel("bits per weight (everything stored counted: codes, scales, mins)")
    ax.set_ylabel("SNR of the round trip (dB)")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Quality per bit-width: closer to the dashed bound is better")
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's
    marker = 3.0 * fig.dpi / 72
    obstacles = []
    for x, y, *_ in marks:
        px, py = ax.transData.transform((x, y))
        obstacles.append(Bbox.from_extents(px - marker, py - marker, px + marker, py + marker))
    labels = []
    for x, y, f, colour in marks:
        ann = ax.annotate(f, xy=(x, y), xytext=(0, 4), textcoords="offset points", fontsize=6.5, color=colour,
                          bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.7))
        labels.append((ann, SIDES + ABOVE + BELOW, False))
    place_labels(ax, renderer, labels, obstacles)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def memory_table(bpw: dict[str, float]) -> str:
    entries = [("f32", 32.0), ("f16 / bf16", 16.0)] + sorted(bpw.items(), key=lambda kv: -kv[1])
    rows = [[name, f"{bits:.2f}"] + [f"{params * bits / 8 / 1e9:.1f}" for _, params in MODEL_PARAMS]
            for name, bits in entries]
    return ("## Weight memory (GB = 10^9 bytes; weights only, every tensor in the format)\n\n"
            + md_table(["format", "bits/weight"] + [f"{m} params" for m, _ in MODEL_PARAMS], rows))


# ---------------------------------------------------------------------------------------------------------------
# Plot


PLOT_COLOURS = {"gemv": "tab:blue", "gemm": "tab:orange", "dot": "tab:green", "dequantize": "tab:red",
                "quantize": "tab:purple", "quantize_act": "tab:brown"}  # one colour per op, on both axes
PACKED_SUFFIX = "-packed"
# Where a point's label may go, in order of preference: (dx, dy) in points, horizontal and vertical alignment.
ABOVE = [(0, 4, "center", "bottom"), (5, 3, "left", "bottom"), (-5, 3, "right", "bottom")]
BELOW = [(0, -4, "center", "top"), (5, -3, "left", "top"), (-5, -3, "right", "top")]
SIDES = [(6, 0, "left", "center"), (-6, 0, "right", "center")]


def split_layout(fmt: str) -> tuple[str, str]:
    """'q4_K-packed' -> ('q4_K', 'packed'); 'q4_K' -> ('q4_K', 'plain')."""
    return (fmt[:-len(PACKED_SUFFIX)], "packed") if fmt.endswith(PACKED_SUFFIX) else (fmt, "plain")


def size_text(nbytes: float) -> str:
    """34816 -> '34 KiB', 3 << 20 -> '3 MiB'."""
    return f"{nbytes / 2**20:.3g} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.3g} KiB"


def place_labels(ax, renderer, labels: list, obstacles: list) -> None:
    """Moves each (annotation, candidate offsets, required) to its first candidate that stays inside the axes and
    overlaps nothing in obstacles (display boxes of markers and of the labels placed before it). One that fits
    nowhere is removed, or left at its first candidate if required."""
    inside = ax.get_window_extent(renderer)
    for ann, candidates, required in labels:
        for dx, dy, ha, va in candidates + candidates[:1]:
            ann.xyann = (dx, dy)
            ann.set_horizontalalignment(ha)
            ann.set_verticalalignment(va)
            box = ann.get_window_extent(renderer).padded(1.0)
            if (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                    and not box.count_overlaps(obstacles)):
                break
        else:  # the loop ended on the first candidate again
            if not required:
                ann.remove()
                continue
        obstacles.append(box)


def plot(run: Run, bpw: dict[str, float], path: Path) -> bool:
    """Throughput against bits per weight (a numeric axis): one line per op and layout (plain solid, packed
    dashed), each point labelled with its format; the limits as horizontal lines. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import LogFormatter, MultipleLocator
        from matplotlib.transforms import Bbox
    except ImportError:
        print("matplotlib is not installed: no plot (scripts/bench.sh installs it in a venv)", file=sys.stderr)
        return False
    backends = kernel_backends(run)
    if not backends:
        return False
    backend = backends[-1]
    gemv_shape, gemm_shape = headline(run)
    if gemv_shape is None or gemm_shape is None:  # no Eigen baseline ran: the case most formats share instead

        def shared(kind: str) -> tuple[int, ...] | None:
            fmts: dict[tuple[int, ...], set[str | None]] = {}
            for r in run.results:
                if r.kind == kind and r.backend == backend:
                    fmts.setdefault(r.shape(), set()).add(r.fmt)
            return max(fmts, key=lambda s: (len(fmts[s]), s[0] * s[1], s[2], s[1]), default=None)

        gemv_shape, gemm_shape = gemv_shape or shared("gemv"), gemm_shape or shared("gemm")

    def series(kind: str, key: str, cond) -> dict[str, list[tuple[float, float, str]]]:
        """(bits per weight, value / 1e9, base format) of every format that has one, per layout (plain first),
        sorted by bits per weight."""
        out: dict[str, list[tuple[float, float, str]]] = {}
        for f in bpw:
            values = [r.rates[key] for r in run.results if r.kind == kind and r.fmt == f and r.backend == backend
                      and r.threads == 1 and key in r.rates and cond(r)]
            if values and max(values) > 0:
                base, layout = split_layout(f)
                out.setdefault(layout, []).append((round(bpw[f], 4), max(values) / 1e9, base))
        return {layout: sorted(out[layout]) for layout in ("plain", "packed") if layout in out}

    biggest = lambda kind: (lambda r: r.args.get("n", 0) == max(
        (x.args.get("n", 0) for x in run.results if x.kind == kind and x.fmt == r.fmt), default=0))
    fig, (ax_bw, ax_ops) = plt.subplots(1, 2, figsize=(16, 7.5), dpi=110)
    gemv_label = "gemv " + (f"{gemv_shape[0]}x{gemv_shape[1]}" if gemv_shape else "")
    bw_lines = [(gemv_label, "gemv", lambda r: r.shape() == gemv_shape),
                ("dot (largest working set)", "dot", biggest("dot")),
                ("dequantize", "dequantize", lambda r: True),
                ("quantize", "quantize", lambda r: True),
                ("quantize_act", "quantize_act", lambda r: True)]
    ops_lines = [(gemv_label, "gemv", lambda r: r.shape() == gemv_shape),
                 ("gemm " + (f"{gemm_shape[0]}x{gemm_shape[1]} batch {gemm_shape[2]}" if gemm_shape else ""),
                  "gemm", lambda r: r.shape() == gemm_shape),
                 ("dot (largest working set)", "dot", biggest("dot"))]
    # (x, y, base format, layout, colour) of every point, in drawing order
    points: dict[object, list[tuple[float, float, str, str, str]]] = {ax_bw: [], ax_ops: []}
    for ax, lines, key in ((ax_bw, bw_lines, "bytes_per_second"), (ax_ops, ops_lines, "FLOP")):
        for label, kind, cond in lines:
            colour = PLOT_COLOURS.get(kind, "black")
            for layout, pts in series(kind, key, cond).items():
                plain = layout == "plain"
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, linestyle="-" if plain else "--",
                        marker="o" if plain else "s", markersize=5, markerfacecolor=colour if plain else "white",
                        linewidth=1.4, label=f"{label}, {layout}")
                points[ax] += [(x, y, base, layout, colour) for x, y, base in pts]

    limit_labels: dict[object, list] = {ax_bw: [], ax_ops: []}
    style: object  # a linestyle: a name or (offset, (on, off, ...))

    def hline(ax, value: float | None, label: str, style: object) -> None:
        if value:
            ax.axhline(value / 1e9, linestyle=style, color="gray", linewidth=1.2)
            limit_labels[ax].append(ax.annotate(
                f"{label}: {value / 1e9:.0f}", xy=(1.0, value / 1e9), xycoords=("axes fraction", "data"),
                xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="dimgray",
                bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.7)))

    reads = sorted((r for r in run.results if r.kind == "read_bw" and r.threads == 1), key=lambda r: r.args["bytes"])
    if reads:
        for nbytes, style in ((reads[-1].args["bytes"], "--"), (reads[0].args["bytes"], ":")):
            bw = prefer_same_backend([r for r in reads if r.args["bytes"] == nbytes], backend)
            hline(ax_bw, bw.rates.get("bytes_per_second") if bw else None,
                  f"read BW {size_text(nbytes)} ({cache_level(run, nbytes)})", style)
    for isa, style in (("avx2", "--"), ("avx_vnni", (0, (3, 1, 1, 1))), ("avx512_vnni", ":")):
        peak = prefer_same_backend([r for r in run.results if r.kind == "int8_peak" and r.isa == isa
                                    and r.threads == 1], backend)
        hline(ax_ops, peak.rates.get("OP") if peak else None, f"int8 peak {isa} (GOPS)", style)
    for kind, shape, style in (("eigen_gemv", gemv_shape, "-."), ("eigen_gemm", gemm_shape, (0, (1, 3)))):
        cands = [r for r in run.results if r.kind == kind and r.shape() == shape]
        if cands:
            best = max(cands, key=lambda r: r.rates.get("FLOP", 0.0))
            hline(ax_ops, best.rates.get("FLOP"), f"f32 Eigen {kind[6:]}", style)

    xs = [p[0] for pts in points.values() for p in pts]
    for ax, ylabel, title in ((ax_bw, "GB/s (weights; floats for quantize/dequantize)", "Bandwidth"),
                              (ax_ops, "GFLOP/s (2 per multiply-add)", "Arithmetic")):
        if xs:
            ax.set_xlim(min(xs) - 0.35, max(xs) + 0.35)
        ax.xaxis.set_major_locator(MultipleLocator(1.0))
        ax.xaxis.set_minor_locator(MultipleLocator(0.25))
        ax.set_xlabel("bits per weight (solid, filled: plain layout; dashed, hollow: packed)")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(LogFormatter())  # 40, not 4 x 10^1
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.margins(y=0.08)
        ax.set_title(f"{title}: {backend} backend, 1 thread")
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3)
    fig.suptitle("lowbit throughput per bit-width (horizontal lines: measured limits and float Eigen; "
                 "each point labelled with its format)")
    fig.tight_layout()

    # Labels go where they overlap no marker, no horizontal line and no other label: the limits first, then the
    # points series by series (gemv first, plain above its points, packed below); a point's label that fits
    # nowhere is left out.
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's
    marker = 3.0 * fig.dpi / 72  # half a marker, in pixels
    for ax in (ax_bw, ax_ops):
        marks = points[ax]
        left, right = ax.get_window_extent(renderer).intervalx
        obstacles = [Bbox.from_extents(left, py - 1, right, py + 1)
                     for py in (ax.transData.transform((0, ann.xy[1]))[1] for ann in limit_labels[ax])]
        for x, y, *_ in marks:
            px, py = ax.transData.transform((x, y))
            obstacles.append(Bbox.from_extents(px - marker, py - marker, px + marker, py + marker))
        labels = [(ann, [(-4, 3, "right", "bottom"), (-4, -3, "right", "top")], True) for ann in limit_labels[ax]]
        for x, y, base, layout, colour in marks:
            ann = ax.annotate(base, xy=(x, y), xytext=(0, 4), textcoords="offset points", fontsize=6.5,
                              color=colour, bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.7))
            labels.append((ann, (ABOVE + BELOW if layout == "plain" else BELOW + ABOVE) + SIDES, False))
        place_labels(ax, renderer, labels, obstacles)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------------------------------------------


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="a subset of sizes, 3 repetitions, min time 0.05 s (default; a few minutes)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="every size, 5 repetitions, min time 0.5 s")
    ap.add_argument("--build-dir", type=Path, default=root / "build-bench", help="CMake build folder")
    ap.add_argument("--out", type=Path, help="output folder (default: BUILD_DIR/bench-results)")
    ap.add_argument("--backends", help="comma-separated backends to run lowbit_bench on, or all that this CPU runs "
                                       "(default: scalar, avx2 and the best one this CPU runs)")
    ap.add_argument("--filter", help="--benchmark_filter regex (the limits the ratios need must match too)")
    ap.add_argument("--repetitions", type=int, help="override the mode's repetitions")
    ap.add_argument("--min-time", type=float, help="override the mode's --benchmark_min_time (seconds)")
    ap.add_argument("--from-json", type=Path, help="report on the bench_*.json files of this folder; run nothing")
    ap.add_argument("--verbose", action="store_true", help="show Google Benchmark's console output")
    args = ap.parse_args()
    mode_name = args.mode or "quick"
    _, reps, min_time = MODES[mode_name]
    reps = args.repetitions or reps
    min_time = args.min_time or min_time

    run = Run()
    if args.from_json:
        out = args.out or args.from_json
        json_files = sorted(args.from_json.glob("bench_*.json"))
        if not json_files:
            sys.exit(f"no bench_*.json in {args.from_json}")
    else:
        out = args.out or args.build_dir / "bench-results"
        out.mkdir(parents=True, exist_ok=True)  # before the runs, which write their JSON there
        jobs, run.skipped = plan_jobs(args.build_dir, args.backends)
        json_files = []
        for job in jobs:
            path = out / f"bench_{job.name}.json"
            run_job(job, path, mode_name, reps, min_time, args.filter, args.verbose)
            json_files.append(path)
    out.mkdir(parents=True, exist_ok=True)
    for path in json_files:
        load_json(path, run)

    bpw = bits_per_weight(run)
    ctx = run.context
    caches = ", ".join(f"L{c['level']}{'d' if c['type'] == 'Data' else ''} {c['size'] // 1024} KiB"
                       for c in run.caches if c.get("type") != "Instruction")
    parts = [f"# lowbit benchmarks ({ctx.get('lowbit_sizes', mode_name)} sizes, median of {run.repetitions} repetitions)",
             f"Host {ctx.get('host_name', '?')}: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
             f"caches per core {caches}; load average {ctx.get('load_avg', '?')} at the start "
             "(a busy machine lowers every figure, multi-threaded ones most)."]
    parts += [f"Skipped: {b}: {why}" for b, why in run.skipped.items()]
    if bpw:
        parts += [summary_table(run, bpw), format_tables(run, bpw), kernel_table(run, bpw)]
    parts += [t for t in (attention_table(run), limits_table(run), quality_table(run, bpw), calibration_table(run)) if t]
    if bpw:
        parts.append(memory_table(bpw))
    report = "\n\n".join(parts) + "\n"
    print(report)
    (out / "report.md").write_text(report)
    png = out / "throughput.png"
    if bpw and plot(run, bpw, png):
        print(f"plot: {png}", file=sys.stderr)
    quality_png = out / "quality.png"
    if bpw and plot_quality(run, bpw, quality_png):
        print(f"plot: {quality_png}", file=sys.stderr)
    print(f"report: {out / 'report.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
