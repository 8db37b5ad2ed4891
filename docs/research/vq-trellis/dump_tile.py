# Dump one quantized LBT2/LBT2-q4 tile (packed words, fp16 scales, int8 LUT, reference int8 decode) for the AVX2 kernel.
import sys
from tcq import *
from decode_ref import pack_tile
L, q, a, alpha = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3], 0), float(sys.argv[4]); out = sys.argv[5]
P = [2, 2, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2, 3, 2, 2, 2]
tab = gauss_quantile_table(q, int8=False); unit = np.abs(tab).max() / 127
ti8 = np.round(tab / unit).astype(np.int8)
vals, idx = code_lutL(L, q, table=ti8.astype(np.float32) * unit, a=a)
x = data("gauss", 2, seed=3).reshape(-1)
xh, st, ks = quant_row3(x, vals, L, P, alpha=alpha, block=256)
words, B = pack_tile(st, ks, L)
perm = (np.arange(256)[None, :] * 32 + np.arange(32)[:, None]).reshape(-1)
ref = np.empty(8192, np.int8); ref[perm] = ti8[idx[st]]
with open(out, "wb") as f:
    np.array([L, q, a, words.shape[0]], np.int32).tofile(f)
    np.array(P, np.int32).tofile(f)
    words.tofile(f); ti8.tofile(f); ref.tofile(f)
print("dumped", out, words.shape, "snr", snr(x, xh))
