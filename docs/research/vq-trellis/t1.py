from tcq import *
X = data("gauss", 2)
for L in (8, 12):
    vals = code_gauss(L)
    for mode in ("free", "tb"):
        r = []; t0 = time.time()
        for x in X:
            xh, st, ks = quant_row2(x, vals, L, [2], mode=mode)
            r.append(snr(x, xh)); ok = check_bitstream(st, ks, L, mode == "tb")
        print(L, mode, np.mean(r), ok, (time.time() - t0) / len(X), flush=True)
