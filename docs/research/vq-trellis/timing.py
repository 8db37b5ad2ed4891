# numba single-thread quantization time per 4096-value row (tail-biting = 1 full pass + 512-step pre-pass)
from tcq import *
x = data("gauss", 1, seed=9)[0]
for L, q, P in [(8, 6, [2]*13+[3]*3), (10, 6, [2]*13+[3]*3), (12, 6, [2]*13+[3]*3), (14, 8, [4]*13+[5]*3), (16, 8, [4]*13+[5]*3)]:
    vals = code_lutL(L, q)[0]
    quant_row2(x, vals, L, P)  # warm
    n = 5 if L <= 12 else 2
    t0 = time.process_time()
    for _ in range(n): quant_row2(x, vals, L, P)
    t = (time.process_time() - t0) / n
    print(f"L={L}: {t*1000:.1f} ms/row (4096 w) -> 4096x4096 matrix {t*4096:.0f} s numba 1 core (CPU time)", flush=True)
