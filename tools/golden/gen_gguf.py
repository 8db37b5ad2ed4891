#!/usr/bin/env python3
"""Tiny synthetic GGUF files written by the `gguf` package's GGUFWriter, which lowbit's reader (include/lowbit/gguf.hpp)
must read exactly as gguf does (tests/test_gguf.cpp).

Run through tools/golden/generate.sh, which pins the package versions; the output is committed under tests/data/gguf/
and is deterministic (fixed seeds; GGUFWriter writes no time or path).

Files:
  tiny_llama.gguf         a one-block "llama" with metadata of every value type (nested arrays, arrays of strings)
                          and tensors in F32, F16, BF16, Q8_0 (one 3-D), Q4_0, Q4_K, Q6_K whose row counts are not
                          multiples of 16
  tiny_llama.dequant.f32  gguf.quants.dequantize() of every tensor of tiny_llama.gguf, concatenated in table order
  all_types.gguf          one row of one block of every GGML type the package knows but Q8_1 (gguf's Q8_1 size, 40
                          bytes, is not ggml's block_q8_1 of 36), random bytes: names and sizes, not values;
                          general.alignment = 8
  aligned_64.gguf         general.alignment = 64, two tensors
  aligned_64.dequant.f32  its tensors' values, as above
  mix_llama.gguf          a 16-block "llama" (8 heads, 2 KV heads) of F32/F16/BF16 matrices of 2 rows, for
                          `lowbit requantize`'s mixes (which tensors get more bits by layer) and fallbacks: ffn_down
                          rows of 96 values (not whole K blocks), one matrix of rows of 40 (not whole 32-blocks)

Usage: gen_gguf.py OUTPUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, GGUFValueType as V, GGUFWriter
from gguf import quants

from gen_golden import K_SCALE_OFFSETS, k_blocks

QK_K = 256


def random_rows(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    return rng.standard_normal((rows, cols)).astype(np.float32)


def k_rows(fmt: str, rows: int, seed: int) -> np.ndarray:
    """rows rows of QK_K values in the K format fmt: random block bytes with finite super-block scales (gen_golden's
    K blocks; gguf cannot quantize to the K formats)."""
    blocks = k_blocks(fmt, seed)
    assert blocks.shape[0] >= rows and K_SCALE_OFFSETS[fmt]
    return blocks[:rows]


def encode(qtype: T, x: np.ndarray) -> np.ndarray:
    """x as the bytes of a qtype tensor, one row of bytes per row of x."""
    return quants.quantize(x, qtype).view(np.uint8).reshape(x.shape[0], -1)


class Model:
    """A GGUFWriter and the dequantized values of the tensors added to it, in order."""

    def __init__(self, path: Path, arch: str):
        self.path = path
        self.writer = GGUFWriter(path, arch)
        self.values = []

    def add(self, name: str, qtype: T, data: np.ndarray, shape: tuple = None):
        """data: rows of bytes of qtype; shape (numpy order, outermost first, in values) if not the 2-D one of data."""
        block_size, block_bytes = GGML_QUANT_SIZES[qtype]
        # GGUFWriter takes the shape of uint8 data in bytes
        byte_shape = None if shape is None else (*shape[:-1], shape[-1] // block_size * block_bytes)
        self.writer.add_tensor(name, data, raw_dtype=qtype, raw_shape=byte_shape)
        if qtype not in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1,
                         T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K):
            return
        self.values.append(quants.dequantize(data, qtype).astype(np.float32).ravel())

    def write(self, dequant_path: Path = None):
        w = self.writer
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        print(f"{self.path.name}: {self.path.stat().st_size} bytes")
        if dequant_path is not None:
            dequant_path.write_bytes(np.concatenate(self.values).tobytes())
            print(f"{dequant_path.name}: {dequant_path.stat().st_size} bytes")


def add_llama_shape(w: GGUFWriter, name: str, *, context: int, blocks: int, embedding: int, feed_forward: int,
                    heads: int, kv_heads: int):
    """The metadata of a llama model's name and shape."""
    w.add_name(name)
    w.add_context_length(context)
    w.add_block_count(blocks)
    w.add_embedding_length(embedding)
    w.add_feed_forward_length(feed_forward)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)


def tiny_llama(out: Path):
    m = Model(out / "tiny_llama.gguf", "llama")
    w = m.writer
    add_llama_shape(w, "tiny llama", context=256, blocks=1, embedding=64, feed_forward=256, heads=4, kv_heads=2)
    w.add_rope_freq_base(10000.0)
    w.add_uint8("test.uint8", 200)
    w.add_int8("test.int8", -100)
    w.add_uint16("test.uint16", 60000)
    w.add_int16("test.int16", -30000)
    w.add_uint32("test.uint32", 4000000000)
    w.add_int32("test.int32", -2000000000)
    w.add_uint64("test.uint64", 2**40 + 3)
    w.add_int64("test.int64", -(2**40))
    w.add_float32("test.float32", 0.1)
    w.add_float64("test.float64", 0.1)
    w.add_bool("test.true", True)
    w.add_bool("test.false", False)
    w.add_string("test.string", "wörld")
    w.add_key_value("test.array_u8", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("test.array_i64", [-1, 2**50], V.ARRAY, sub_type=V.INT64)
    w.add_array("test.array_f32", [0.5, -1.25, 3.0])
    w.add_array("test.array_bool", [True, False, True])
    w.add_array("test.nested", [[1, 2, 3], [4], [5, 6]])
    w.add_array("test.nested_strings", [["a", "bc"], ["", "déf", "g"]])
    w.add_token_list(["<s>", "</s>", "hello", "wörld", ""])

    rng = np.random.default_rng(17)
    m.add("token_embd.weight", T.F16, encode(T.F16, random_rows(rng, 23, 64)))
    m.add("blk.0.attn_norm.weight", T.F32, encode(T.F32, random_rows(rng, 1, 64)), shape=(64,))
    m.add("blk.0.attn_q.weight", T.Q4_0, encode(T.Q4_0, random_rows(rng, 21, 64)))
    m.add("blk.0.attn_k.weight", T.Q8_0, encode(T.Q8_0, random_rows(rng, 19, 64)))
    # 3-D: 5 x 3 rows of 64 (numpy order), ne = [64, 3, 5]
    m.add("blk.0.ffn_gate_exps.weight", T.Q8_0, encode(T.Q8_0, random_rows(rng, 15, 64)), shape=(5, 3, 64))
    m.add("blk.0.ffn_up.weight", T.Q4_K, k_rows("q4_K", 17, 3001))
    m.add("blk.0.ffn_down.weight", T.Q6_K, k_rows("q6_K", 17, 3002))
    m.add("output.weight", T.BF16, encode(T.BF16, random_rows(rng, 7, 64)))
    m.write(out / "tiny_llama.dequant.f32")


def all_types(out: Path):
    m = Model(out / "all_types.gguf", "none")
    m.writer.add_custom_alignment(8)  # small enough for the fuzzer's seed corpus (4096 bytes at most)
    rng = np.random.default_rng(18)
    for qtype, (block_size, block_bytes) in GGML_QUANT_SIZES.items():
        if qtype != T.Q8_1:
            m.add(f"t.{qtype.name.lower()}", qtype, rng.integers(0, 256, (1, block_bytes), dtype=np.uint8))
    m.write()


def aligned_64(out: Path):
    m = Model(out / "aligned_64.gguf", "llama")
    m.writer.add_custom_alignment(64)
    rng = np.random.default_rng(19)
    m.add("a", T.F32, encode(T.F32, random_rows(rng, 3, 5)))
    m.add("b", T.Q4_0, encode(T.Q4_0, random_rows(rng, 3, 32)))
    m.write(out / "aligned_64.dequant.f32")


def mix_llama(out: Path):
    m = Model(out / "mix_llama.gguf", "llama")
    add_llama_shape(m.writer, "mix llama", context=4096, blocks=16, embedding=256, feed_forward=96, heads=8,
                    kv_heads=2)
    rng = np.random.default_rng(20)

    def matrix(name: str, qtype: T, rows: int, cols: int):
        m.add(name, qtype, encode(qtype, random_rows(rng, rows, cols)))

    matrix("token_embd.weight", T.F32, 10, 256)
    for i in range(16):
        m.add(f"blk.{i}.attn_norm.weight", T.F32, encode(T.F32, random_rows(rng, 1, 256)), shape=(256,))
        matrix(f"blk.{i}.attn_q.weight", T.F32, 2, 256)
        matrix(f"blk.{i}.attn_k.weight", T.BF16, 2, 256)
        matrix(f"blk.{i}.attn_v.weight", T.F16, 2, 256)
        matrix(f"blk.{i}.attn_output.weight", T.F16, 2, 256)
        matrix(f"blk.{i}.ffn_gate.weight", T.F16, 2, 256)
        matrix(f"blk.{i}.ffn_up.weight", T.F16, 2, 256)
        matrix(f"blk.{i}.ffn_down.weight", T.F16, 2, 96)
    matrix("extra.odd.weight", T.F32, 2, 40)
    m.add("output_norm.weight", T.F32, encode(T.F32, random_rows(rng, 1, 256)), shape=(256,))
    matrix("output.weight", T.F16, 10, 256)
    m.write()


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tiny_llama(out)
    all_types(out)
    aligned_64(out)
    mix_llama(out)


if __name__ == "__main__":
    main()
