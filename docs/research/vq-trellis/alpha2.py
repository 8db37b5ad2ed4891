from tcq import *
X = data("gauss", 3, seed=5)
for (L, q, P, As) in [(12, 7, [3]*13+[4]*3, (1.0, 1.05, 1.1, 1.15)), (12, 8, [4]*13+[5]*3, (1.1, 1.15, 1.2, 1.3)), (12, 6, [2]*13+[3]*3, (1.1,))]:
    vals = code_lut(L, q)[0]
    for a in As:
        print(L, q, np.mean(P), a, np.mean([snr(x, quant_row2(x, vals, L, P, alpha=a)[0]) for x in X]), flush=True)
