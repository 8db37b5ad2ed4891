from tcq import *
X = data("gauss", 2, seed=5)
P = [2]*13+[3]*3
for L in (12,):
    for a in (0x9E37, 0x9E37 | 1, 0x2F35, 0x6A09 | 1, 0x5BD1, 0xB5AD, 0x3C6F):
        r1 = np.mean([snr(x, quant_row2(x, code_lut(L, 6, a=a)[0], L, P)[0]) for x in X])
        r2 = np.mean([snr(x, quant_row2(x, code_lutL(L, 6, a=a)[0], L, P)[0]) for x in X])
        print(L, hex(a), f"mullo_top {r1:.3f}  mullo_L {r2:.3f}", flush=True)
