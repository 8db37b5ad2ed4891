#!/usr/bin/env python3
"""Writes a GGUF model of a real architecture's shapes filled with random weights, for trying `lowbit requantize`
and `lowbit bench-model` where no model has been downloaded (and for the README's transcripts). Only the shapes
are real: the values are Gaussian (norms are ones), so the model computes nothing useful.

Usage: synthetic_gguf.py OUT.gguf [--shape tinyllama-1.1b|llama-3-8b|tiny] [--type F16|F32|BF16]
       (run it in a venv with tools/golden/requirements.txt, e.g. the one tools/golden/generate.sh makes)

Shapes (llama architecture, metadata as llama.cpp's converter writes it):
  tinyllama-1.1b  22 blocks, 2048 embedding, 5632 feed-forward, 32 heads, 4 KV heads, 32000 tokens (2.2 GB in F16)
  llama-3-8b      32 blocks, 4096 embedding, 14336 feed-forward, 32 heads, 8 KV heads, 128256 tokens (16 GB in F16)
  tiny            2 blocks, 256 embedding, 512 feed-forward, 4 heads, 2 KV heads, 1000 tokens
"""
import argparse

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFWriter, quants

SHAPES = {
    "tinyllama-1.1b": dict(blocks=22, embd=2048, ffn=5632, heads=32, kv_heads=4, vocab=32000, ctx=2048),
    "llama-3-8b": dict(blocks=32, embd=4096, ffn=14336, heads=32, kv_heads=8, vocab=128256, ctx=8192),
    "tiny": dict(blocks=2, embd=256, ffn=512, heads=4, kv_heads=2, vocab=1000, ctx=512),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shape", default="tinyllama-1.1b", choices=SHAPES)
    ap.add_argument("--type", default="F16", choices=["F16", "F32", "BF16"])
    a = ap.parse_args()
    s = SHAPES[a.shape]
    qtype = T[a.type]
    rng = np.random.default_rng(1)
    w = GGUFWriter(a.out, "llama")
    w.add_name(f"synthetic {a.shape}")
    w.add_context_length(s["ctx"])
    w.add_block_count(s["blocks"])
    w.add_embedding_length(s["embd"])
    w.add_feed_forward_length(s["ffn"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type({T.F32: 0, T.F16: 1, T.BF16: 32}[qtype])
    head_dim = s["embd"] // s["heads"]

    def matrix(name: str, rows: int, cols: int):
        x = (rng.standard_normal((rows, cols), dtype=np.float32) * (cols ** -0.5)).astype(np.float32)
        data = quants.quantize(x, qtype) if qtype == T.BF16 else x.astype(np.float16 if qtype == T.F16 else np.float32)
        w.add_tensor(name, data, raw_dtype=qtype if qtype == T.BF16 else None)

    def norm(name: str):
        w.add_tensor(name, np.ones(s["embd"], dtype=np.float32))

    matrix("token_embd.weight", s["vocab"], s["embd"])
    for i in range(s["blocks"]):
        norm(f"blk.{i}.attn_norm.weight")
        matrix(f"blk.{i}.attn_q.weight", s["embd"], s["embd"])
        matrix(f"blk.{i}.attn_k.weight", s["kv_heads"] * head_dim, s["embd"])
        matrix(f"blk.{i}.attn_v.weight", s["kv_heads"] * head_dim, s["embd"])
        matrix(f"blk.{i}.attn_output.weight", s["embd"], s["embd"])
        norm(f"blk.{i}.ffn_norm.weight")
        matrix(f"blk.{i}.ffn_gate.weight", s["ffn"], s["embd"])
        matrix(f"blk.{i}.ffn_up.weight", s["ffn"], s["embd"])
        matrix(f"blk.{i}.ffn_down.weight", s["embd"], s["ffn"])
    norm("output_norm.weight")
    matrix("output.weight", s["vocab"], s["embd"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
