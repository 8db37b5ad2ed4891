# Learn the int8 LUT (2^q entries) for the mullo-hash trellis code by Lloyd-style iterations on training rows,
# evaluate on held-out rows.  usage: learn_lut.py k extra per L q iters
import sys
from tcq import *
def pat(k, extra, per):
    p = [k] * per
    for i in range(extra):
        p[(i * per) // extra + per // (2 * extra)] = k + 1
    return p
k, extra, per, L, q, iters = [int(a) for a in sys.argv[1:7]]
ntr = int(sys.argv[7]) if len(sys.argv) > 7 else 3
ALPHA = float(sys.argv[8]) if len(sys.argv) > 8 else 1.0
P = pat(k, extra, per)
rate = np.mean(P)
Xtr = data("gauss", ntr, seed=11); Xte = data("gauss", 3, seed=1)
idx = lut_index(L, q, 0x9E37 | 1, "mullo_top")
T = gauss_quantile_table(q, int8=False)
def evalT(T, X):
    vals = T[idx].astype(np.float32)
    return np.mean([snr(x, quant_row2(x, vals, L, P, alpha=ALPHA)[0]) for x in X])
def int8(T):
    sc = 127.0 / np.abs(T).max(); return np.round(T * sc) / sc
print(f"rate code={rate:.5f} L={L} q={q} init test SNR {evalT(int8(T), Xte):.3f}", flush=True)
for it in range(iters):
    num = np.zeros(len(T)); den = np.zeros(len(T))
    vals = T[idx].astype(np.float32)
    for x in Xtr:
        xh, st, ks = quant_row2(x, vals, L, P, alpha=ALPHA)
        n = len(x); lanes = 32; Tn = n // lanes
        perm = (np.arange(Tn)[None, :] * lanes + np.arange(lanes)[:, None]).reshape(-1)
        v = vals[st]
        s = np.where(np.abs(v) > 0, xh[perm] / np.where(v == 0, 1, v), 0)  # per-weight scale actually used
        ii = idx[st]
        np.add.at(num, ii, s * x[perm]); np.add.at(den, ii, s * s)
    T = np.where(den > 0, num / np.maximum(den, 1e-12), T)
    T = T / np.sqrt(np.mean(T * T))
    print(f" it{it} test SNR {evalT(int8(T), Xte):.3f}", flush=True)
np.save(f"lut_k{k}_{extra}_{per}_L{L}_q{q}_a{ALPHA}.npy", int8(T))
print("table(int8):", np.round(int8(T) * 127 / np.abs(int8(T)).max()).astype(int).tolist())
