# Fresh-data validation of the chosen designs (16 rows N(0,1), 8 rows t(3) raw, 8 rows t(3) after RHT).
from tcq import *
from final_eval import agg
from q4_explore import patn
C = [  # name, L, q, a, pattern, block(scale), alpha, bits breakdown
 ("Q2  (rec.)  L12 q6", 12, 6, 0x940B, patn(2, 3, 16), 256, 1.05),
 ("Q2  AVX2    L12 q4", 12, 4, 0x940B, patn(2, 3, 16), 256, 1.05),
 ("Q2  fast    L10 q6", 10, 6, 0x48FB, patn(2, 3, 16), 256, 1.05),
 ("Q2  row     L12 q6", 12, 6, 0x940B, patn(2, 2, 16), 256, 1.05),
 ("Q3  (rec.)  L12 q7", 12, 7, 0x6A09, patn(3, 3, 16), 256, 1.1),
 ("Q3  q6      L12 q6", 12, 6, 0x6A09, patn(3, 3, 16), 256, 1.1),
 ("Q3  fast    L10 q7", 10, 7, 0x9E37, patn(3, 3, 16), 256, 1.1),
 ("Q3  row     L12 q7", 12, 7, 0x6A09, patn(3, 2, 16), 256, 1.1),
 ("Q4  (rec.)  L14 q8", 14, 8, 0xE5AF, patn(4, 7, 32), 512, 1.15),
 ("Q4  fast    L12 q8", 12, 8, 0x48FB, patn(4, 7, 32), 512, 1.2),
 ("Q4  slow    L16 q8", 16, 8, 0x9E37, patn(4, 7, 32), 512, 1.15),
 ("Q4  s256    L14 q8", 14, 8, 0xE5AF, patn(4, 3, 16), 256, 1.15),
 ("Q4  row     L14 q8", 14, 8, 0xE5AF, patn(4, 2, 16), 256, 1.15),
]
G = data("gauss", 16, seed=777); T3 = data("t3", 8, seed=778); T3r = rht(T3, seed=5)
print("| design | code bpw | scale bpw | total bpw | SNR N(0,1) | SNR t3 raw | SNR t3+RHT | numba ms/row |")
print("|---|---|---|---|---|---|---|---|")
for nm, L, q, a, P, blk, al in C:
    vals = code_lutL(L, q, a=a)[0]
    t0 = time.time(); Gh = np.array([quant_row3(x, vals, L, P, alpha=al, block=blk)[0] for x in G]); tq = (time.time() - t0) / len(G)
    Th = np.array([quant_row3(x, vals, L, P, alpha=al, block=blk)[0] for x in T3])
    Trh = np.array([quant_row3(x, vals, L, P, alpha=al, block=blk)[0] for x in T3r])
    cb = np.mean(P); sb = 16 / blk
    print(f"| {nm} (a={a:#06x}, alpha={al}) | {cb:.5f} | {sb:.5f} | {cb+sb:.5f} | {agg(G,Gh):.2f} | {agg(T3,Th):.2f} | {agg(T3r,Trh):.2f} | {tq*1000:.0f} |", flush=True)
