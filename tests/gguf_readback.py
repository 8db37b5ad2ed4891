#!/usr/bin/env python3
"""Reads a GGUF file that `lowbit requantize` wrote with the `gguf` package (the reference reader of llama.cpp's
project) and checks it against the input file it was made from:

  - every metadata key of IN is in OUT with the same type and bytes (but general.file_type and
    general.quantization_version, which requantize sets), and OUT has no other key;
  - the same tensors in the same order with the same shapes; tensors of the same type byte-identical;
  - converted tensors: for the formats gguf can quantize (q8_0, q4_0, q4_1, q5_0, q5_1), the bytes gguf's own
    quantizer gives for IN's values (lowbit's rtn is byte-identical to ggml's reference); for the K formats and
    IQ4_NL, gguf's dequantization of OUT within the format's error of IN's values (SNR at least MIN_SNR_DB below).

Usage: gguf_readback.py IN.gguf OUT.gguf      (tests/gguf_python.sh runs it in a venv with gguf pinned)
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, quants

SET_BY_REQUANTIZE = {"general.file_type", "general.quantization_version"}
QUANTIZED_BY_GGUF = {T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1}
# SNR floors of round-to-nearest on Gaussian rows, a few dB under what each format reaches (gguf only dequantizes
# these; IQ4_NL is llama.cpp's fallback for q2_K / q3_K rows that are not whole K blocks).
MIN_SNR_DB = {T.Q2_K: 5.0, T.Q3_K: 10.0, T.Q4_K: 15.0, T.Q5_K: 21.0, T.Q6_K: 27.0, T.IQ4_NL: 18.0}


def raw_field(field) -> list:
    return [bytes(p.tobytes()) for p in field.parts]


def values(tensor) -> np.ndarray:
    """The tensor's values as float32 rows of ne[0] values."""
    x = quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
    return x.reshape(-1, int(tensor.shape[0]))


def main() -> int:
    src, out = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
    failures = []
    keys_in = {k for k in src.fields if not k.startswith("GGUF.")}
    keys_out = {k for k in out.fields if not k.startswith("GGUF.")}
    if keys_out - keys_in - SET_BY_REQUANTIZE:
        failures.append(f"keys added: {sorted(keys_out - keys_in - SET_BY_REQUANTIZE)}")
    for key in sorted(keys_in - SET_BY_REQUANTIZE):
        if key not in out.fields:
            failures.append(f"key {key} lost")
        elif raw_field(src.fields[key]) != raw_field(out.fields[key]):
            failures.append(f"key {key} changed")

    if [t.name for t in src.tensors] != [t.name for t in out.tensors]:
        failures.append("tensor names or order differ")
    converted = 0
    for a, b in zip(src.tensors, out.tensors):
        if list(a.shape) != list(b.shape):
            failures.append(f"{a.name}: shape {list(a.shape)} became {list(b.shape)}")
            continue
        if a.tensor_type == b.tensor_type:
            if a.data.tobytes() != b.data.tobytes():
                failures.append(f"{a.name}: kept as {a.tensor_type.name} but its bytes changed")
            continue
        converted += 1
        x = values(a)
        if b.tensor_type in QUANTIZED_BY_GGUF:
            want = quants.quantize(x, b.tensor_type)
            if want.tobytes() != b.data.tobytes():
                failures.append(f"{a.name}: {b.tensor_type.name} bytes differ from gguf's quantization")
        elif b.tensor_type in MIN_SNR_DB:
            e = values(b) - x
            snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / max(np.sum(e.astype(np.float64) ** 2), 1e-300))
            if not snr >= MIN_SNR_DB[b.tensor_type]:
                failures.append(f"{a.name}: {b.tensor_type.name} SNR {snr:.1f} dB < {MIN_SNR_DB[b.tensor_type]}")
        else:
            failures.append(f"{a.name}: unexpected type {b.tensor_type.name}")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"gguf_readback: {len(out.tensors)} tensors ({converted} converted), {len(keys_out)} keys: "
          + ("ok" if not failures else f"{len(failures)} failures"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
