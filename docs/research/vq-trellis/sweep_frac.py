# fractional-rate bitshift trellis: per-lane k pattern over 16 steps (13 x k + 3 x (k+1)) -> k+3/16 bits
import sys
from tcq import *
def pat(k, extra=3, per=16):
    p = [k] * per
    for i in range(extra):
        p[(i * per) // extra + per // (2 * extra)] = k + 1
    return p
k = int(sys.argv[1]); Ls = [int(a) for a in sys.argv[2].split(",")]; rows = int(sys.argv[3])
qs = [int(a) for a in sys.argv[4].split(",")]
extra = int(sys.argv[5]) if len(sys.argv) > 5 else 3
P = pat(k, extra)
X = data("gauss", rows)
print("pattern", P, "code bits/w", np.mean(P), "total bpw", np.mean(P) + 16 / 256, flush=True)
for L in Ls:
    cl = [("gauss", code_gauss(L)), ("3inst", code_3inst(L))] + [(f"lut{q}_mullo", code_lut(L, q, mode="mullo_top")[0]) for q in qs if q < L]
    for name, vals in cl:
        r = []; t0 = time.time()
        for x in X:
            xh, st, ks = quant_row2(x, vals, L, P)
            r.append(snr(x, xh))
        print(f"k={np.mean(P):.4f} L={L} {name:12s} snr={np.mean(r):.3f} t/row={(time.time()-t0)/rows:.3f}s", flush=True)
