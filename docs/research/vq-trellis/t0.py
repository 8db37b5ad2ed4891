from tcq import *
X = data("gauss", 1)
for L in (8, 12):
    vals = code_gauss(L)
    t0 = time.time(); xh, idx, ks = quant_row(X[0], vals, L, [2], tailbite=False); t1 = time.time()
    print(L, "free", snr(X[0], xh), t1 - t0, flush=True)
    t0 = time.time(); xh, idx, ks = quant_row(X[0], vals, L, [2], tailbite=True); t1 = time.time()
    print(L, "tb", snr(X[0], xh), t1 - t0, flush=True)
