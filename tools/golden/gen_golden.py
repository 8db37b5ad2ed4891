#!/usr/bin/env python3
"""Golden vectors from the `gguf` Python package (llama.cpp's own reader/writer), which lowbit must match bit for bit.

Run through tools/golden/generate.sh, which pins the package versions; the output is committed under tests/data/
and is deterministic (fixed seeds, no time or platform dependence beyond IEEE float32 arithmetic).

Files (raw little-endian, no header; every row holds ROW = 256 values, so it is a whole number of blocks of every
format, K formats included; <fmt> is lowbit's format name, e.g. q4_0, q4_K):
  <fmt>.input.f32    float32 rows fed to gguf.quants.quantize()           (only formats gguf can quantize)
  <fmt>.gguf.bin     the quantized blocks: gguf's quantize() output of <fmt>.input.f32 for q8_0, q4_0, q4_1, q5_0,
                     q5_1; for the K formats q2_K, q3_K, q4_K, q5_K, q6_K (gguf only dequantizes them) random block
                     bytes followed by crafted blocks (see k_blocks)
  <fmt>.dequant.f32  float32 gguf.quants.dequantize() of <fmt>.gguf.bin
The non-linear formats: mxfp4 as the simple ones (gguf quantizes it; inputs checked to avoid the few-ulp band below
a power of two where gguf's float32 log2 rounds up, see lowbit's ref/nonlinear.hpp); iq4_nl and iq4_xs (gguf only
dequantizes them) random block bytes, then crafted ones, as the K formats (every code under fp16 scales 65504,
-65504, subnormal, +-0, -1), whole rows of ROW values. The ternary tq1_0 and tq2_0 as the simple formats (gguf
quantizes them), one super-block per row. The codebook formats iq1_s ... iq3_s (gguf only dequantizes them): random
block bytes (which hold every sign pattern and sub-block scale), then blocks whose grid indices run through the
whole grid, each under one of the crafted fp16 scales in turn.

Usage: gen_golden.py OUTPUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf import quants

ROW = 256
BLOCK = 32  # block size of the q4/q5/q8 formats

# lowbit name -> gguf type, and the largest |x| that keeps each format's fp16 scale (and, for the _1 formats,
# the fp16 min) finite: q8_0 allows 127 * 65504, q4_0 8 * 65504, q5_0 16 * 65504, q4_1/q5_1 a min down to -65504.
SIMPLE = {
    "q8_0": (T.Q8_0, 5.0e6),
    "q4_0": (T.Q4_0, 1.0e5),
    "q4_1": (T.Q4_1, 6.0e4),
    "q5_0": (T.Q5_0, 2.0e5),
    "q5_1": (T.Q5_1, 6.0e4),
}
NONLINEAR_BLOCKS = {"iq4_nl": (T.IQ4_NL, (0,)), "iq4_xs": (T.IQ4_XS, (0,))}  # gguf type, offsets of the fp16 scales
# Codebook formats: gguf type, grid indices per block, grid size.
LATTICE = {"iq2_xxs": (T.IQ2_XXS, 32, 256), "iq2_xs": (T.IQ2_XS, 32, 512), "iq2_s": (T.IQ2_S, 32, 1024),
           "iq3_xxs": (T.IQ3_XXS, 64, 256), "iq3_s": (T.IQ3_S, 64, 512), "iq1_s": (T.IQ1_S, 32, 2048),
           "iq1_m": (T.IQ1_M, 32, 2048)}
K_FORMATS = {"q2_K": T.Q2_K, "q3_K": T.Q3_K, "q4_K": T.Q4_K, "q5_K": T.Q5_K, "q6_K": T.Q6_K}

# Byte offsets of the fp16 super-block scales in each K block (d, then dmin where the format has one).
K_SCALE_OFFSETS = {"q2_K": (80, 82), "q3_K": (108,), "q4_K": (0, 2), "q5_K": (0, 2), "q6_K": (208,)}


def per_block(rows: np.ndarray, fn) -> np.ndarray:
    """Applies fn(block_index, block) to every BLOCK-value block of rows, in place; returns rows."""
    blocks = rows.reshape(-1, BLOCK)
    for i in range(blocks.shape[0]):
        blocks[i] = fn(i, blocks[i])
    return rows


def tie_block(fmt: str, rng: np.random.Generator) -> np.ndarray:
    """Integers on a grid where x / d lands exactly on k + 0.5 for odd x: d = 2 for every format.

    The _0 formats take d from the signed value of largest magnitude (q8_0: amax / 127, q4_0: max / -8,
    q5_0: max / -16), the _1 formats from (max - min) / levels.
    """
    if fmt.endswith("_1"):
        levels = 15 if fmt == "q4_1" else 31
        x = rng.integers(0, 2 * levels + 1, BLOCK).astype(np.float32)
        x[0], x[1] = 0.0, 2 * levels
        return x + np.float32(rng.integers(-8, 9))  # a min that is not zero keeps the shift exact
    limit = {"q8_0": 254, "q4_0": 16, "q5_0": 32}[fmt]
    x = rng.integers(-limit + 1, limit, BLOCK).astype(np.float32)
    x[rng.integers(BLOCK)] = limit * (1 if rng.integers(2) else -1)
    return x


def simple_inputs(fmt: str, seed: int) -> np.ndarray:
    """Rows of ROW floats that exercise zeros, ties, tiny and huge magnitudes and ordinary distributions."""
    huge = SIMPLE[fmt][1]
    rng = np.random.default_rng(seed)
    f32 = np.float32
    rows = []
    add = rows.append

    add(np.zeros(ROW, f32))
    # Whole zero blocks next to blocks with scattered zeros.
    add(per_block(rng.standard_normal(ROW).astype(f32),
                  lambda i, b: np.zeros(BLOCK, f32) if i % 3 == 0 else np.where(rng.random(BLOCK) < 0.25, 0, b)))
    add(per_block(np.zeros(ROW, f32), lambda i, b: tie_block(fmt, rng)))
    add(per_block(np.zeros(ROW, f32), lambda i, b: tie_block(fmt, rng)))
    add(rng.integers(-16, 17, ROW).astype(f32))                 # small integers
    add((rng.integers(-64, 65, ROW) * 0.25).astype(f32))        # multiples of 1/4
    # Small, then tiny magnitudes, one step per block: 1e-2 .. 1e-6 (fp16 scales become subnormal), then
    # 1e-6 .. 1e-30 (scales flush to zero while the codes still come from the float scale).
    add(per_block(rng.standard_normal(ROW).astype(f32), lambda i, b: b * f32(10.0 ** -(2 + 4 * i / 7))))
    add(per_block(rng.standard_normal(ROW).astype(f32), lambda i, b: b * f32(10.0 ** -(6 + 24 * i / 7))))
    add((rng.standard_normal(ROW) * 1e-30).astype(f32))
    # Huge magnitudes: up to `huge`, with one block per row whose largest value sits exactly at the bound.
    add(per_block(rng.uniform(-huge, huge, ROW).astype(f32),
                  lambda i, b: np.where(np.arange(BLOCK) == 5, f32(huge), b) if i == 0 else b))
    add((rng.standard_normal(ROW) * (huge / 5)).astype(f32).clip(-huge, huge))
    if not fmt.endswith("_1"):  # every block's scale exactly 65504, fp16's largest finite value
        qmax = {"q8_0": 127, "q4_0": 8, "q5_0": 16}[fmt]
        add(per_block(rng.uniform(-1000, 1000, ROW).astype(f32),
                      lambda i, b: np.where(np.arange(BLOCK) == i, f32(-65504.0 * qmax), b)))
    for _ in range(2):
        add(rng.standard_normal(ROW).astype(f32))
    for _ in range(2):
        add(rng.standard_t(3, ROW).astype(f32))
    add(rng.uniform(-1, 1, ROW).astype(f32))
    # One outlier per block; all-equal blocks (q4_1/q5_1: max == min, so d = 0); all-negative values.
    add(per_block(rng.standard_normal(ROW).astype(f32), lambda i, b: np.where(np.arange(BLOCK) == 7 * i % BLOCK,
                                                                                 50.0 * (-1) ** i, b)))
    add(per_block(np.zeros(ROW, f32), lambda i, b: np.full(BLOCK, (i - 3.5) * 0.75, f32)))
    add(-np.abs(rng.standard_normal(ROW)).astype(f32) - 1)
    return np.stack(rows).astype(np.float32)


def mxfp4_inputs(seed: int) -> np.ndarray:
    """The simple formats' kinds of rows, at magnitudes from 2^-120 to 2^127, plus every code at exact scales."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    rows = [simple_inputs("q8_0", seed)[:, :ROW]]
    rows.append(np.stack([per_block(rng.standard_normal(ROW).astype(f32),
                                    lambda i, b: b * f32(2.0 ** float(rng.integers(-120, 126)))) for _ in range(4)]))
    # Every code value times a power of two, with midpoints between neighbours (ties); then values up to 1.5 * 2^127
    # (for the largest float gguf's log2f gives 128 and its block dequantizes to Inf).
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 5.5], f32)
    ties = np.concatenate([grid, -grid]) * f32(2.0 ** 10)
    rows.append(np.tile(ties, ROW // 32)[None, :])
    top = rng.uniform(-3.0e38, 3.0e38, ROW).astype(f32)
    top[3] = f32(1.5 * 2.0 ** 127)
    rows.append(top[None, :])
    x = np.concatenate(rows).astype(f32)
    # gguf takes floor(log2f(amax)); lowbit floor(log2) exactly. Inputs where they differ are left out.
    amax = np.abs(x.reshape(-1, BLOCK)).max(axis=1)
    with np.errstate(divide="ignore"):
        rounded = np.floor(np.log2(amax))
        exact = np.floor(np.log2(amax.astype(np.float64)))
    bad = (amax != 0) & (rounded != exact)
    assert not bad.any(), f"blocks in gguf's log2f rounding band: {amax[bad]}"
    return x


def ternary_inputs(seed: int) -> np.ndarray:
    """Rows (one super-block each) for tq1_0 and tq2_0: d = the largest |x|, codes round-half-away(x / d)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    rows = [np.zeros(ROW, f32), rng.standard_normal(ROW), rng.standard_t(3, ROW), rng.uniform(-1, 1, ROW),
            rng.standard_normal(ROW) * 1e-3, rng.standard_normal(ROW) * 1e-30, -np.abs(rng.standard_normal(ROW))]
    ties = rng.choice(np.array([-1.0, -0.5, 0.0, 0.5, 1.0], f32), ROW) * f32(4.0)  # x / d exactly +-0.5
    ties[0] = 4.0
    rows.append(ties)
    huge = rng.uniform(-65504, 65504, ROW)
    huge[9] = 65504.0
    rows.append(huge)
    rows.append(np.where(rng.random(ROW) < 0.5, 0.0, rng.standard_normal(ROW)))
    return np.stack(rows).astype(f32)


def nonlinear_blocks(fmt: str, seed: int) -> np.ndarray:
    """Random blocks, then every code (bytes 0x00..0xFF in turn) under crafted fp16 scales."""
    rng = np.random.default_rng(seed)
    qtype, offsets = NONLINEAR_BLOCKS[fmt]
    size = GGML_QUANT_SIZES[qtype][1]
    random = rng.integers(0, 256, (16, size), dtype=np.uint8)
    for off in offsets:
        random[:, off + 1] &= np.where(random[:, off + 1] & 0x7C == 0x7C, 0xBF, 0xFF).astype(np.uint8)
    crafted = []
    for half in (0x7BFF, 0xFBFF, 0x0001, 0x03FF, 0x8001, 0x0000, 0x8000, 0xBC00, 0x3C00):
        for start in range(0, 256, size):
            b = ((np.arange(size) + start) % 256).astype(np.uint8)
            for off in offsets:
                b[off:off + 2] = np.frombuffer(np.uint16(half).tobytes(), np.uint8)
            crafted.append(b)
    blocks = np.concatenate([random, np.stack(crafted)])
    per_row = ROW // (GGML_QUANT_SIZES[qtype][0])
    return blocks[: len(blocks) // per_row * per_row]


def k_blocks(fmt: str, seed: int) -> np.ndarray:
    """Random K blocks, then crafted ones: super-scales of 65504, -65504, subnormal, +-0 and -1, with random,
    all-zero and all-ones code bytes. Super-scales are kept finite: NaN payloads need not survive arithmetic
    alike everywhere, and the golden files are compared byte for byte."""
    rng = np.random.default_rng(seed)
    size = GGML_QUANT_SIZES[K_FORMATS[fmt]][1]
    random = rng.integers(0, 256, (12, size), dtype=np.uint8)
    for off in K_SCALE_OFFSETS[fmt]:
        random[:, off + 1] &= np.where(random[:, off + 1] & 0x7C == 0x7C, 0xBF, 0xFF).astype(np.uint8)
    crafted = []
    for half in (0x7BFF, 0xFBFF, 0x0001, 0x03FF, 0x8001, 0x0000, 0x8000, 0xBC00, 0x3C00):
        for fill in (None, 0x00, 0xFF):
            b = rng.integers(0, 256, size, dtype=np.uint8) if fill is None else np.full(size, fill, np.uint8)
            for off in K_SCALE_OFFSETS[fmt]:
                b[off:off + 2] = np.frombuffer(np.uint16(half).tobytes(), np.uint8)
            crafted.append(b)
    return np.concatenate([random, np.stack(crafted)])


def lattice_indices(fmt: str, b: np.ndarray, first: int) -> None:
    """Sets the grid indices of block b (uint8 bytes) to first, first + 1, ... (modulo the grid size)."""
    def put_bits(offset: int, bit: int, width: int, value: int) -> None:
        word = int.from_bytes(b[offset:offset + 2].tobytes(), "little")
        word = (word & ~(((1 << width) - 1) << bit)) | (value << bit)
        b[offset:offset + 2] = np.frombuffer(word.to_bytes(2, "little"), np.uint8)
    count, size = LATTICE[fmt][1], LATTICE[fmt][2]
    for g in range(count):
        i = (first + g) % size
        if fmt == "iq2_xxs":
            b[2 + 8 * (g // 4) + g % 4] = i
        elif fmt == "iq2_xs":
            put_bits(2 + 2 * g, 0, 9, i)
        elif fmt == "iq2_s":
            b[2 + g] = i & 255
            put_bits(66 + g // 4, 2 * (g % 4), 2, i >> 8)
        elif fmt == "iq3_xxs":
            b[2 + g] = i
        elif fmt == "iq3_s":
            b[2 + g] = i & 255
            put_bits(66 + g // 8, g % 8, 1, i >> 8)
        elif fmt == "iq1_s":
            b[2 + g] = i & 255
            put_bits(34 + 2 * (g // 4), 3 * (g % 4), 3, i >> 8)
        elif fmt == "iq1_m":
            b[g] = i & 255
            put_bits(32 + g // 2, 4 * (g % 2), 3, i >> 8)


def set_lattice_scale(fmt: str, b: np.ndarray, half: int) -> None:
    """The fp16 super-block scale: bytes 0..1, or iq1_m's four top nibbles of its scale words (bytes 49, 51, 53, 55)."""
    if fmt == "iq1_m":
        for k in range(4):
            b[49 + 2 * k] = (b[49 + 2 * k] & 0x0F) | ((half >> (4 * k)) & 0x0F) << 4
    else:
        b[0:2] = np.frombuffer(np.uint16(half).tobytes(), np.uint8)


def lattice_blocks(fmt: str, seed: int) -> np.ndarray:
    """Random blocks (finite scales), then blocks covering every grid index under each crafted scale in turn."""
    rng = np.random.default_rng(seed)
    qtype, per_block, grid_size = LATTICE[fmt]
    size = GGML_QUANT_SIZES[qtype][1]
    blocks = []
    for _ in range(48):
        b = rng.integers(0, 256, size, dtype=np.uint8)
        set_lattice_scale(fmt, b, int(rng.integers(0x0400, 0x7C00)) | int(rng.integers(2)) << 15)
        blocks.append(b)
    crafted = (0x7BFF, 0xFBFF, 0x0001, 0x03FF, 0x8001, 0x0000, 0x8000, 0xBC00, 0x3C00)
    for n, first in enumerate(range(0, grid_size, per_block)):
        b = rng.integers(0, 256, size, dtype=np.uint8)
        lattice_indices(fmt, b, first)
        set_lattice_scale(fmt, b, crafted[n % len(crafted)])
        blocks.append(b)
    return np.stack(blocks)


def write(path: Path, array: np.ndarray) -> None:
    path.write_bytes(np.ascontiguousarray(array).tobytes())
    print(f"{path.name}: {path.stat().st_size} bytes")


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for seed, (fmt, (qtype, _)) in enumerate(SIMPLE.items()):
        x = simple_inputs(fmt, 1000 + seed)
        q = quants.quantize(x, qtype)
        write(out / f"{fmt}.input.f32", x)
        write(out / f"{fmt}.gguf.bin", q)
        write(out / f"{fmt}.dequant.f32", quants.dequantize(q, qtype).astype(np.float32))
    x = mxfp4_inputs(1100)
    q = quants.quantize(x, T.MXFP4)
    write(out / "mxfp4.input.f32", x)
    write(out / "mxfp4.gguf.bin", q)
    write(out / "mxfp4.dequant.f32", quants.dequantize(q, T.MXFP4).astype(np.float32))
    for seed, (fmt, qtype) in enumerate({"tq1_0": T.TQ1_0, "tq2_0": T.TQ2_0}.items()):
        x = ternary_inputs(1200 + seed)
        q = quants.quantize(x, qtype)
        write(out / f"{fmt}.input.f32", x)
        write(out / f"{fmt}.gguf.bin", q)
        write(out / f"{fmt}.dequant.f32", quants.dequantize(q, qtype).astype(np.float32))
    for seed, fmt in enumerate(NONLINEAR_BLOCKS):
        q = nonlinear_blocks(fmt, 2100 + seed)
        write(out / f"{fmt}.gguf.bin", q)
        write(out / f"{fmt}.dequant.f32", quants.dequantize(q, NONLINEAR_BLOCKS[fmt][0]).astype(np.float32))
    for seed, (fmt, (qtype, _, _)) in enumerate(LATTICE.items()):
        q = lattice_blocks(fmt, 2200 + seed)
        write(out / f"{fmt}.gguf.bin", q)
        write(out / f"{fmt}.dequant.f32", quants.dequantize(q, qtype).astype(np.float32))
    for seed, (fmt, qtype) in enumerate(K_FORMATS.items()):
        q = k_blocks(fmt, 2000 + seed)
        write(out / f"{fmt}.gguf.bin", q)
        write(out / f"{fmt}.dequant.f32", quants.dequantize(q, qtype).astype(np.float32))


if __name__ == "__main__":
    main()
