# search the hash multiplier a for idx = top q bits of (W*a mod 2^L)   usage: L q k alpha
import sys
from tcq import *
L, q, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]); alpha = float(sys.argv[4])
P = [k]*13 + [k+1]*3; P = [P[i] for i in (0,1,13,2,3,4,5,14,6,7,8,9,15,10,11,12)]
X = data("gauss", 2, seed=21)
rng = np.random.default_rng(7)
cands = [0x9E37 | 1, 0x6A09, 0x5BD1, 0xB5AD, 0x3C6F] + [int(c) | 1 for c in rng.integers(1, 1 << 16, 11)]
res = []
for a in cands:
    r = np.mean([snr(x, quant_row2(x, code_lutL(L, q, a=a)[0], L, P, alpha=alpha)[0]) for x in X])
    res.append((r, a)); print(L, q, k, hex(a), f"{r:.3f}", flush=True)
res.sort(reverse=True); print("BEST", [(f"{r:.3f}", hex(a)) for r, a in res[:3]])
