# t(3) without rotation: per-row search of the pre-scale alpha (scale = alpha*rms(block)) - best of several Viterbi runs
from tcq import *
from final_eval import D, agg
T3 = data("t3", 4, seed=202)
for nm in ("Q2-L12q6", "Q3-L12q7", "Q4-L14q8"):
    L, q, a, P, al = D[nm]
    vals = code_lutL(L, q, a=a)[0]
    out = {}
    for A in (1.0, 1.5, 2.0, 3.0, 4.0):
        out[A] = np.array([quant_row2(x, vals, L, P, alpha=A)[0] for x in T3])
    best = np.array([min((out[A][i] for A in out), key=lambda xh: np.sum((T3[i] - xh) ** 2)) for i in range(len(T3))])
    print(nm, " ".join(f"a={A}:{agg(T3, out[A]):.2f}" for A in out), f"| per-row best-of-5: {agg(T3, best):.2f}", flush=True)
