# sweep code families x L at fixed integer k (tail-biting circular trellis per row, 32 lanes, fp16 scale/256)
import sys
from tcq import *
k = int(sys.argv[1]); Ls = [int(a) for a in sys.argv[2].split(",")]; rows = int(sys.argv[3])
X = data("gauss", rows)
def codes(L):
    yield "gauss", code_gauss(L)
    yield "1mad", code_1mad(L)
    yield "3inst", code_3inst(L)
    for q in (4, 6, 7):
        if q < L:
            yield f"lut{q}_mullo", code_lut(L, q, mode="mullo_top")[0]
for L in Ls:
    for name, vals in codes(L):
        r = []; t0 = time.time()
        for x in X:
            xh, st, ks = quant_row2(x, vals, L, [k])
            r.append(snr(x, xh))
        print(f"k={k} L={L} {name:12s} snr={np.mean(r):.3f} t/row={(time.time()-t0)/rows:.3f}s", flush=True)
