"""Temperature sweep (T=4096, q8_0 and q4_0), plus A16 (int16 weights, W = max|w|/32767) for comparison,
and per-value error of the V formats themselves on N(0,1)."""
import numpy as np, pvq
f32 = np.float32
orig = pvq.contributions
def contributions(variant, p, dq, cq):
    if variant != "A16":
        return orig(variant, p, dq, cq)
    R, nch, _ = p.shape
    w = (p[..., None] * dq[None]).astype(f32)
    W = (np.abs(w).max(axis=2) / f32(32767)).astype(f32)[:, :, None, :]
    safe = np.where(W == 0, f32(1), W)
    w16 = np.where(W == 0, 0.0, np.rint((w / safe).astype(f32))).astype(np.float64)
    isum = np.matmul(w16.transpose(1, 3, 0, 2), cq.astype(np.float64).transpose(0, 2, 1, 3))
    Wt = W[:, :, 0, :].transpose(1, 2, 0)[..., None]
    return (Wt * isum).astype(f32).transpose(2, 0, 1, 3).reshape(R, nch, pvq.D)
pvq.contributions = contributions
rng = np.random.default_rng(0)
x = rng.standard_normal((200000, 128)).astype(f32)
for fmt, qf in [("q8_0", pvq.quant_q8_0), ("q4_0", pvq.quant_q4_0)]:
    d, c = qf(x)
    y = (d[..., None] * c).reshape(x.shape)
    print(f"per-value rel RMS error of {fmt} on N(0,1): {np.sqrt(((y - x) ** 2).mean() / (x ** 2).mean()):.4f}")
for fmt in ["q8_0", "q4_0"]:
    for temp in [0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]:
        r = pvq.simulate(4096, temp, fmt, 32, seed=77, variants=["D", "A", "B", "C", "A16"])
        print(fmt, "temp", temp, " ".join(f"{v}: exact {r[v]['exact']:.5f} deq {r[v]['deq']:.5f}" for v in ["D", "A", "B", "C", "A16"]), flush=True)
