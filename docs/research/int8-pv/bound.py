"""Adversarial chunk for variant A's worst case: one token p=1, 63 tokens with w just under W/2 (round to 0),
all codes +127 (q8_0, d equal). Bound: |dout| <= (63/254) * max|d| * max|c| before dividing by l/max p."""
import numpy as np
f32 = np.float32
d = f32(0.02); W = d / f32(127)
for frac in [0.4999, 0.49, 0.3]:
    p = np.full(64, frac / 127, f32); p[0] = 1
    w = p * d; Wc = np.abs(w).max() / f32(127); w8 = np.rint(w / Wc)
    c = np.full(64, 127.0, f32)
    exact = (p * d * c).sum() / p.sum(); approx = Wc * (w8 * c).sum() / p.sum()
    print(f"p_others={frac}/127: |dout| = {abs(exact-approx):.5f} = {abs(exact-approx)/(127*d):.4f} x max|v|;"
          f" bound (63/254) = 0.2480 x max|v|; rel to out {abs(exact-approx)/exact:.3f}")
