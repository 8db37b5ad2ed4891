# Baseline: per-row learned d-dim codebooks (int8 entries, decodable with pshufb/vpermb/tbl), fp16 scale per 256.
import numpy as np, time, sys
from tcq import data, snr, fp16, rht

def kmeanspp(P, K, rng):
    C = [P[rng.integers(len(P))]]
    d2 = np.sum((P - C[0]) ** 2, 1)
    for _ in range(1, K):
        i = rng.choice(len(P), p=d2 / d2.sum())
        C.append(P[i]); d2 = np.minimum(d2, np.sum((P - P[i]) ** 2, 1))
    return np.array(C)

def kmeans(P, K, iters=30, rng=None):
    C = kmeanspp(P, K, rng)
    for _ in range(iters):
        D = (P * P).sum(1)[:, None] - 2 * P @ C.T + (C * C).sum(1)[None]
        a = D.argmin(1)
        for j in range(K):
            m = a == j
            if m.any(): C[j] = P[m].mean(0)
    return C

def quant_int8_cb(C):
    sc = np.abs(C).max() / 127.0
    return np.round(C / sc) * sc

def vq_row(x, d, K, block=256, rng=None, shared=None):
    s = np.array([fp16(np.sqrt(np.mean(b * b))) for b in x.reshape(-1, block)], np.float32)
    sw = np.repeat(s, block)
    P = (x / sw).reshape(-1, d)
    C = quant_int8_cb(kmeans(P, K, rng=rng)) if shared is None else shared
    D = (P * P).sum(1)[:, None] - 2 * P @ C.T + (C * C).sum(1)[None]
    a = D.argmin(1)
    v = C[a].reshape(-1)
    # LS refit of block scales
    s2 = np.array([fp16(np.dot(xb, vb) / np.dot(vb, vb)) for xb, vb in zip(x.reshape(-1, block), v.reshape(-1, block))])
    return v * np.repeat(s2, block)

rng = np.random.default_rng(0)
rows = 4
res = []
for d, K in [(1, 8), (1, 16), (2, 16), (2, 32), (2, 64), (4, 16), (4, 32), (4, 256)]:
    cb_bits = K * d * 8 + 16
    bits = np.log2(K) / d + cb_bits / 4096 + 16 / 256
    out = []
    for kind in ("gauss", "t3", "t3rht"):
        X = data("gauss" if kind == "gauss" else "t3", rows)
        Xq = rht(X) if kind == "t3rht" else X
        t0 = time.time()
        r = [snr(x, vq_row(xq, d, K, rng=rng)) if kind != "t3rht" else None for x, xq in zip(X, Xq)]
        if kind == "t3rht":  # SNR in the original domain == rotated domain (orthonormal)
            r = [snr(xq, vq_row(xq, d, K, rng=rng)) for xq in Xq]
        out.append((np.mean(r), (time.time() - t0) / rows))
    line = (f"d={d} K={K:3d} table={K*d}B idx={np.log2(K)/d:.3f} cb={cb_bits/4096:.3f} scale=0.0625 total={bits:.3f} bpw | "
            f"N(0,1) {out[0][0]:.2f} dB | t3 {out[1][0]:.2f} dB | t3+RHT {out[2][0]:.2f} dB | {out[0][1]*1000:.0f} ms/row")
    print(line, flush=True)
