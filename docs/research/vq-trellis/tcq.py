# Bitshift-trellis (QTIP-style) quantizer research code.
# Convention (matches decoder): LSB-first bitstream; window for step t = bits [P_t-L, P_t),
# P_t = cumulative bits after step t; newest k bits are the TOP k bits of the L-bit window.
# S_t = (S_{t-1} >> k) | (b << (L-k)).  memory carried = S_t & (2^(L-k)-1) == S_{t-1} >> k.
import os
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
import numpy as np, numba as nb, time, math

@nb.njit(cache=True)
def viterbi(x, scl, vals, L, ks, m0, constrain_end):
    """x,scl: (T,) data and per-step scale; vals: (2^L,) float32 code values;
    ks: (T,) int bits per step; m0: -1 free start, else start memory (S_{-1}) full L-bit
    window whose top (L-k0) bits matter; constrain_end: if m0>=0, force final window's
    top... (tail-biting: last L bits of stream == S_{-1}). Returns states (T,) int32 and cost."""
    T = x.shape[0]
    N = 1 << L
    cost = np.empty(N, np.float32)
    newc = np.empty(N, np.float32)
    best = np.empty(N, np.float32)
    bp = np.zeros((T, N >> 1), np.uint8)
    # step 0
    k = ks[0]
    mk = (1 << (L - k)) - 1
    for S in range(N):
        if m0 >= 0 and (S & mk) != (m0 >> k):
            cost[S] = np.float32(1e30)
        else:
            d = x[0] - scl[0] * vals[S]
            cost[S] = d * d
    for t in range(1, T):
        k = ks[t]
        nm = 1 << (L - k)
        K = 1 << k
        for p in range(nm):
            b = cost[p << k]
            bu = 0
            for u in range(1, K):
                c = cost[(p << k) | u]
                if c < b:
                    b = c
                    bu = u
            best[p] = b
            bp[t, p] = bu
        xt = x[t]
        st = scl[t]
        mk = nm - 1
        for S in range(N):
            d = xt - st * vals[S]
            cost[S] = best[S & mk] + d * d
    # end
    if m0 >= 0 and constrain_end:
        # final window must equal S_{-1} in the bits that step 0 used (its top L-k0 bits)
        k0 = ks[0]
        sh = k0
        bestS = -1
        bc = np.float32(1e30)
        for S in range(N):
            if (S >> sh) == (m0 >> sh) and cost[S] < bc:
                bc = cost[S]
                bestS = S
    else:
        bestS = 0
        bc = cost[0]
        for S in range(1, N):
            if cost[S] < bc:
                bc = cost[S]
                bestS = S
    states = np.empty(T, np.int32)
    S = bestS
    states[T - 1] = S
    for t in range(T - 1, 0, -1):
        k = ks[t]
        mk = (1 << (L - k)) - 1
        S = ((S & mk) << k) | bp[t, S & mk]
        states[t - 1] = S
    return states, bc

def quant_stream(x, scl, vals, L, ks, tailbite):
    if not tailbite:
        st, _ = viterbi(x, scl, vals, L, ks, -1, False)
        return st
    T = len(x)
    h = T // 2
    # pass 1: rotated sequence, wrap point in middle -> read state at wrap
    xr = np.concatenate([x[h:], x[:h]]); sr = np.concatenate([scl[h:], scl[:h]]); kr = np.concatenate([ks[h:], ks[:h]])
    st1, _ = viterbi(xr, sr, vals, L, kr, -1, False)
    m0 = int(st1[T - h - 1])   # window just before original step 0
    st, c = viterbi(x, scl, vals, L, ks, m0, True)
    return st

# ---------------- code functions (value of an L-bit window) -----------------
def code_gauss(L, seed=0):
    return np.random.default_rng(seed).standard_normal(1 << L).astype(np.float32)

def code_1mad(L):
    s = np.arange(1 << L, dtype=np.uint64)
    x = (np.uint64(34038481) * s + np.uint64(76625530)) & np.uint64(0xFFFFFFFF)
    v = (x & 255) + ((x >> 8) & 255) + ((x >> 16) & 255) + ((x >> 24) & 255)
    v = v.astype(np.float64)
    return ((v - v.mean()) / v.std()).astype(np.float32)

def code_3inst(L):
    s = np.arange(1 << L, dtype=np.uint64)
    x = (np.uint64(89226354) * s + np.uint64(64248484)) & np.uint64(0xFFFFFFFF)
    x = (x & np.uint64(0x8FFF8FFF)) ^ np.uint64(0x3B603B60)
    x = x.astype(np.uint32)
    lo = (x & 0xFFFF).astype(np.uint16).view(np.float16).astype(np.float64)
    hi = (x >> 16).astype(np.uint16).view(np.float16).astype(np.float64)
    v = lo + hi
    return ((v - v.mean()) / v.std()).astype(np.float32)

def gauss_quantile_table(q, int8=True):
    from statistics import NormalDist
    nd = NormalDist()
    n = 1 << q
    t = np.array([nd.inv_cdf((i + 0.5) / n) for i in range(n)])
    t /= np.sqrt(np.mean(t * t))
    if int8:
        sc = 127.0 / np.abs(t).max()
        t = np.round(t * sc) / sc
    return t

def lut_index(L, q, a, mode):
    W = np.arange(1 << L, dtype=np.uint64)
    if mode == "mullo_top":      # idx = top q bits of (W*a mod 2^16)  [W zero-extended to 16 bits]
        h = (W * np.uint64(a)) & np.uint64(0xFFFF)
        return (h >> np.uint64(16 - q)).astype(np.int64)
    if mode == "mulhi":          # idx = bits 8.. of high half of 32-bit product (vpmulhuw, high byte)
        h = ((W * np.uint64(a)) >> np.uint64(16)) & np.uint64(0xFFFF)
        return ((h >> np.uint64(8)) & np.uint64((1 << q) - 1)).astype(np.int64)
    if mode == "plain_top":      # no hash: top q bits of window (degenerate, for reference)
        return (W >> np.uint64(L - q)).astype(np.int64)
    raise ValueError(mode)

def code_lut(L, q, a=0x9E37 | 1, mode="mullo_top", table=None):
    idx = lut_index(L, q, a, mode)
    t = gauss_quantile_table(q) if table is None else table
    return t[idx].astype(np.float32), idx

# ---------------- row quantizer --------------------------------------------
def fp16(v):
    return np.float32(np.float16(v))

def quant_row(x, vals, L, kpat, lanes=32, block=256, alpha=1.0, tailbite=True, refit=True):
    """x: row (n,). Layout: lane j handles weights j, j+lanes, ...; step t = weights [t*lanes,(t+1)*lanes).
    kpat: per-step k pattern (repeated). block scale fp16 per `block` contiguous weights."""
    n = len(x)
    T = n // lanes
    ks = np.resize(np.asarray(kpat, np.int64), T)
    nb_ = n // block
    xb = x.reshape(nb_, block)
    s = np.array([fp16(alpha * np.sqrt(np.mean(b * b))) for b in xb], np.float32)
    sw = np.repeat(s, block)
    X = x.reshape(T, lanes)
    SW = sw.reshape(T, lanes)
    idx = np.empty((T, lanes), np.int32)
    for j in range(lanes):
        idx[:, j] = quant_stream(np.ascontiguousarray(X[:, j]), np.ascontiguousarray(SW[:, j]), vals, L, ks, tailbite)
    v = vals[idx].reshape(n)
    if refit:
        vb = v.reshape(nb_, block)
        s = np.array([fp16(np.dot(a, c) / max(np.dot(c, c), 1e-20)) for a, c in zip(xb, vb)], np.float32)
        sw = np.repeat(s, block)
    xh = v * sw
    return xh, idx, ks

def snr(x, xh):
    return 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((x - xh).astype(np.float64) ** 2))

def data(kind, rows, n=4096, seed=1):
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        return rng.standard_normal((rows, n)).astype(np.float32)
    if kind == "t3":
        return rng.standard_t(3, (rows, n)).astype(np.float32)
    raise ValueError

def rht(X, seed=123):
    """random-sign Walsh-Hadamard rotation per row (orthonormal)."""
    n = X.shape[1]
    sg = np.random.default_rng(seed).choice([-1.0, 1.0], n).astype(np.float32)
    Y = (X * sg).astype(np.float64).copy()
    h = 1
    while h < n:
        Y = Y.reshape(-1, n // (2 * h), 2, h)
        a = Y[:, :, 0, :].copy(); b = Y[:, :, 1, :].copy()
        Y[:, :, 0, :] = a + b; Y[:, :, 1, :] = a - b
        Y = Y.reshape(-1, n)
        h *= 2
    return (Y / np.sqrt(n)).astype(np.float32)

# ---- improved: one circular (tail-biting) trellis per row through lane-major order ----
def quant_stream_tb(x, scl, vals, L, ks, W=256):
    T = len(x)
    if W is None or 2 * W >= T:
        return quant_stream(x, scl, vals, L, ks, True)
    xr = np.concatenate([x[-W:], x[:W]]); sr = np.concatenate([scl[-W:], scl[:W]]); kr = np.concatenate([ks[-W:], ks[:W]])
    st1, _ = viterbi(xr, sr, vals, L, kr, -1, False)
    m0 = int(st1[W - 1])
    st, c = viterbi(x, scl, vals, L, ks, m0, True)
    return st

def quant_row2(x, vals, L, kpat, lanes=32, block=256, alpha=1.0, mode="tb", refit=True, W=256, start=-1):
    n = len(x); T = n // lanes
    kl = np.resize(np.asarray(kpat, np.int64), T)
    ks = np.tile(kl, lanes)
    nb_ = n // block
    xb = x.reshape(nb_, block)
    s = np.array([fp16(alpha * np.sqrt(np.mean(b * b))) for b in xb], np.float32)
    sw = np.repeat(s, block)
    perm = (np.arange(T)[None, :] * lanes + np.arange(lanes)[:, None]).reshape(-1)  # lane-major order
    xs = np.ascontiguousarray(x[perm]); ss = np.ascontiguousarray(sw[perm])
    if mode == "tb":
        st = quant_stream_tb(xs, ss, vals, L, ks, W)
    elif mode == "free":
        st, _ = viterbi(xs, ss, vals, L, ks, -1, False)
    elif mode == "chain":   # start from given window (previous row's end), free end
        st, _ = viterbi(xs, ss, vals, L, ks, start, False)
    v = np.empty(n, np.float32); v[perm] = vals[st]
    if refit:
        vb = v.reshape(nb_, block)
        s = np.array([fp16(np.dot(a, c) / max(np.dot(c, c), 1e-20)) for a, c in zip(xb, vb)], np.float32)
        sw = np.repeat(s, block)
    return v * sw, st, ks

def check_bitstream(st, ks, L, circular=True):
    """verify the state sequence is a valid bitshift-trellis path (and circular)."""
    T = len(st)
    for t in range(1, T):
        k = ks[t]
        if (st[t] & ((1 << (L - k)) - 1)) != (st[t - 1] >> k):
            return False
    if circular:
        k = ks[0]
        if (st[0] & ((1 << (L - k)) - 1)) != (st[T - 1] >> k):
            return False
    return True

def lut_index_L(L, q, a=0x9E37 | 1):
    """decoder-exact hash: idx = top q bits of (W*a mod 2^L); computed in SIMD as the top q bits
    of vpmullw(W16, a << (16-L)) where W16 = 16 bits starting at window start (top 16-L bits are
    'future' bits and fall out of the product)."""
    W = np.arange(1 << L, dtype=np.uint64)
    h = (W * np.uint64(a)) & np.uint64((1 << L) - 1)
    return (h >> np.uint64(L - q)).astype(np.int64)

def code_lutL(L, q, table=None, a=0x9E37 | 1):
    idx = lut_index_L(L, q, a)
    t = gauss_quantile_table(q) if table is None else table
    return t[idx].astype(np.float32), idx

def quant_row3(x, vals, L, kpat, lanes=32, block=256, alpha=1.0, iters=1, W=256):
    """like quant_row2 (tail-biting) but with `iters` rounds of (Viterbi, LS scale refit)."""
    n = len(x); T = n // lanes
    kl = np.resize(np.asarray(kpat, np.int64), T); ks = np.tile(kl, lanes)
    nb_ = n // block; xb = x.reshape(nb_, block)
    s = np.array([fp16(alpha * np.sqrt(np.mean(b * b))) for b in xb], np.float32)
    perm = (np.arange(T)[None, :] * lanes + np.arange(lanes)[:, None]).reshape(-1)
    xs = np.ascontiguousarray(x[perm])
    best = None
    for it in range(iters):
        ss = np.ascontiguousarray(np.repeat(s, block)[perm])
        st = quant_stream_tb(xs, ss, vals, L, ks, W)
        v = np.empty(n, np.float32); v[perm] = vals[st]
        vb = v.reshape(nb_, block)
        s = np.array([fp16(np.dot(a, c) / max(np.dot(c, c), 1e-20)) for a, c in zip(xb, vb)], np.float32)
        xh = v * np.repeat(s, block)
        e = np.sum((x - xh) ** 2)
        if best is None or e < best[0]:
            best = (e, xh, st)
    return best[1], best[2], ks
