# Final evaluation of candidate designs: N(0,1) (8 rows x 4096), t(3) (4 rows) with and without RHT.
import sys
from tcq import *
def pat(k, extra, per=16):
    p = [k] * per
    for i in range(extra):
        p[(i * per) // extra + per // (2 * extra)] = k + 1
    return p
D = {  # name: (L, q, a, pattern, alpha)
 "Q2-L12q6":      (12, 6, 0x940B, pat(2, 3), 1.0),
 "Q2-L12q6-row":  (12, 6, 0x940B, pat(2, 2), 1.0),
 "Q2-L12q4":      (12, 4, 0x940B, pat(2, 3), 1.0),
 "Q2-L14q6":      (14, 6, 0x5BD1, pat(2, 3), 1.0),
 "Q3-L12q7":      (12, 7, 0x6A09, pat(3, 3), 1.1),
 "Q3-L12q7-row":  (12, 7, 0x6A09, pat(3, 2), 1.1),
 "Q3-L12q6":      (12, 6, 0x6A09, pat(3, 3), 1.1),
 "Q4-L14q8":      (14, 8, 0xE5AF, pat(4, 3), 1.1),
 "Q4-L14q8-row":  (14, 8, 0xE5AF, pat(4, 2), 1.1),
 "Q4-L16q8":      (16, 8, 0x9E37, pat(4, 3), 1.1),
 "Q4-L16q8-row":  (16, 8, 0x9E37, pat(4, 2), 1.1),
}
def agg(X, Xh):
    return 10 * np.log10(np.sum(X.astype(np.float64) ** 2) / np.sum((X - Xh).astype(np.float64) ** 2))
if __name__ == '__main__':
    names = sys.argv[1].split(",") if len(sys.argv) > 1 else list(D)
    NG, NT = 8, 4
    G = data("gauss", NG, seed=101); T3 = data("t3", NT, seed=202); T3r = rht(T3)
    def agg(X, Xh):
        return 10 * np.log10(np.sum(X.astype(np.float64) ** 2) / np.sum((X - Xh).astype(np.float64) ** 2))
    for nm in names:
        L, q, a, P, al = D[nm]
        vals = code_lutL(L, q, a=a)[0]
        t0 = time.time(); Gh = np.array([quant_row2(x, vals, L, P, alpha=al)[0] for x in G]); tq = (time.time() - t0) / NG
        Th = np.array([quant_row2(x, vals, L, P, alpha=al)[0] for x in T3])
        Trh = np.array([quant_row2(x, vals, L, P, alpha=al)[0] for x in T3r])
        code = np.mean(P)
        print(f"| {nm} | L={L} q={q} a={a:#06x} alpha={al} | {code:.4f} + 0.0625 = {code+0.0625:.4f} | {agg(G,Gh):.2f} | {agg(T3,Th):.2f} | {agg(T3r,Trh):.2f} | {tq*1000:.0f} ms |", flush=True)
