import sys
from tcq import *
from final_eval import agg
def patn(k, extra, per):
    p = [k] * per
    for i in range(extra):
        p[(i * per) // extra + per // (2 * extra)] = k + 1
    return p
if __name__ == "__main__":
  G = data("gauss", 8, seed=101)
  cfgs = [  # name, L, q, a, pattern, alpha, iters, scale_bits_per_w
   ("L14q8 a1.05", 14, 8, 0xE5AF, patn(4, 3, 16), 1.05, 1, 1/16),
   ("L14q8 a1.15", 14, 8, 0xE5AF, patn(4, 3, 16), 1.15, 1, 1/16),
   ("L14q8 a1.1 2iter", 14, 8, 0xE5AF, patn(4, 3, 16), 1.1, 2, 1/16),
   ("L14q8 a1.1 4.21875 fp16/512", 14, 8, 0xE5AF, patn(4, 7, 32), 1.1, 1, 1/32),
   ("L14q7 a1.15 4.21875 fp16/512", 14, 7, 0x940B, patn(4, 7, 32), 1.15, 1, 1/32),
   ("L12q8 a1.1 4.21875 fp16/512", 12, 8, 0x48FB, patn(4, 7, 32), 1.1, 1, 1/32),
   ("L16q8 a1.1 4.21875 fp16/512", 16, 8, 0x9E37, patn(4, 7, 32), 1.1, 1, 1/32),
  ]
  for nm, L, q, a, P, al, it, sb in cfgs:
      vals = code_lutL(L, q, a=a)[0]
      blk = 256 if sb == 1/16 else 512
      t0 = time.time()
      Gh = np.array([quant_row3(x, vals, L, P, alpha=al, iters=it, block=blk)[0] for x in G])
      print(f"{nm}: code {np.mean(P):.5f} + scale {sb:.5f} = {np.mean(P)+sb:.5f} bpw  SNR {agg(G, Gh):.3f}  ({(time.time()-t0)/8*1000:.0f} ms/row)", flush=True)
