from tcq import *
X = data("gauss", 3, seed=5)
for (L, q, P) in [(12, 6, [2]*13+[3]*3), (12, 8, [4]*13+[5]*3)]:
    vals = code_lut(L, q)[0]
    for a in (0.9, 0.95, 1.0, 1.05):
        print(L, q, np.mean(P), a, np.mean([snr(x, quant_row2(x, vals, L, P, alpha=a)[0]) for x in X]), flush=True)
