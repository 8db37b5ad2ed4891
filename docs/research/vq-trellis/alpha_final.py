from tcq import *
from final_eval import agg
from q4_explore import patn
G = data("gauss", 8, seed=101)
cfgs = [
 ("Q2 L12q6 2.1875/256", 12, 6, 0x940B, patn(2, 3, 16), 256, (1.05, 1.1)),
 ("Q3 L12q7 3.1875/256", 12, 7, 0x6A09, patn(3, 3, 16), 256, (1.05, 1.15)),
 ("Q4 L12q8 4.21875/512", 12, 8, 0x48FB, patn(4, 7, 32), 512, (1.15, 1.2)),
 ("Q4 L14q8 4.21875/512", 14, 8, 0xE5AF, patn(4, 7, 32), 512, (1.15, 1.2)),
]
for nm, L, q, a, P, blk, As in cfgs:
    vals = code_lutL(L, q, a=a)[0]
    for al in As:
        Gh = np.array([quant_row3(x, vals, L, P, alpha=al, block=blk)[0] for x in G])
        print(f"{nm} alpha={al}: SNR {agg(G, Gh):.3f}", flush=True)
