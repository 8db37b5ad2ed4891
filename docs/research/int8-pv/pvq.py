"""Numerical study: int8-quantized softmax weights (p * d) for decode attention over q8_0 / q4_0 value caches.

Simulates lowbit's decode arithmetic (ref/attention.hpp, attention.hpp): 64-token chunks, running softmax in
float32 within 2048-token segments, segments merged in order, out = o / l. Only the o += p v step differs:
  D: float  o += p_t * v_t            (v_t = d_{t,b} * c_{t,d} dequantized, float32)
  A: w_t = p_t d_{t,b}; W = max_t |w_t| / 127 per (row, chunk, block); w8 = rint(w / W); o += W * sum_t w8 c (exact)
  B: as A with one W per (row, chunk): max over t and all blocks b
  C: p8 = rint(255 p) per chunk; o += d_{t,b} * (p8 / 255) * c in float (reference point only)
References (float64): exact softmax attention over unquantized K, V ("exact"), and over the dequantized V ("deq").
"""
import os
import sys
import json
import zlib
import time

import numpy as np

f32 = np.float32
CH, SEG_CH, D, G = 64, 32, 128, 4  # chunk tokens, chunks per segment (2048 tokens), head dim, GQA rows per KV head
NB = D // 32


def quant_q8_0(x):
    """GGUF / lowbit q8_0: d = amax/127 (float), id = 1/d, code = round-half-away(x*id); d stored fp16."""
    xb = x.reshape(x.shape[0], NB, 32)
    d = (np.abs(xb).max(-1) / f32(127)).astype(f32)
    idv = np.where(d != 0, f32(1) / np.where(d == 0, f32(1), d), f32(0)).astype(f32)
    y = (xb * idv[..., None]).astype(f32)
    c = np.sign(y) * np.floor(np.abs(y) + f32(0.5))
    return d.astype(np.float16).astype(f32), c.astype(f32)


def quant_q4_0(x):
    """GGUF / lowbit q4_0: m = value of largest magnitude (first on ties), d = m / -8, id = 1/d,
    code = min(15, trunc(x*id + 8.5)); weight = d * (code - 8); d stored fp16, codes from the float d."""
    xb = x.reshape(x.shape[0], NB, 32)
    idx = np.abs(xb).argmax(-1)
    m = np.take_along_axis(xb, idx[..., None], -1)[..., 0]
    d = (m / f32(-8)).astype(f32)
    idv = np.where(d != 0, f32(1) / np.where(d == 0, f32(1), d), f32(0)).astype(f32)
    y = (xb * idv[..., None]).astype(f32) + f32(8.5)
    code = np.clip(np.trunc(y), 0, 15)
    return d.astype(np.float16).astype(f32), (code - 8).astype(f32)


def contributions(variant, p, dq, cq):
    """Per chunk o-increment. p (R, nch, 64) f32; dq (nch, 64, NB); cq (nch, 64, NB, 32). Returns (R, nch, D) f32."""
    R, nch, _ = p.shape
    if variant == "D":
        v = (dq[..., None] * cq).reshape(nch, CH, D).astype(f32)
        return np.matmul(p.transpose(1, 0, 2), v).transpose(1, 0, 2)
    if variant == "C":
        p8 = (np.rint(p * f32(255)) / f32(255)).astype(f32)
        w = (p8[..., None] * dq[None]).astype(f32)  # (R, nch, 64, NB): d * (p8/255), applied in float
    else:
        w = (p[..., None] * dq[None]).astype(f32)  # w_t = p_t * d_{t,b}
        if variant == "A":
            W = (np.abs(w).max(axis=2) / f32(127)).astype(f32)  # (R, nch, NB)
            Wb = W[:, :, None, :]
        elif variant == "B":
            W = (np.abs(w).max(axis=(2, 3)) / f32(127)).astype(f32)  # (R, nch)
            Wb = W[:, :, None, None]
        else:
            raise ValueError(variant)
        safe = np.where(Wb == 0, f32(1), Wb)
        w8 = np.where(Wb == 0, f32(0), np.rint((w / safe).astype(f32)))  # round half to even
        assert np.abs(w8).max() <= 127
        # exact integer sums (|sum| <= 64*127*128 < 2^24, so float32 matmul is exact)
        isum = np.matmul(w8.transpose(1, 3, 0, 2), cq.transpose(0, 2, 1, 3))  # (nch, NB, R, 32)
        Wt = np.broadcast_to(Wb[:, :, 0, :], (R, nch, NB)).transpose(1, 2, 0)[..., None]
        out = (Wt * isum).astype(f32)  # (nch, NB, R, 32)
        return out.transpose(2, 0, 1, 3).reshape(R, nch, D)
    out = np.matmul(w.transpose(1, 3, 0, 2), cq.transpose(0, 2, 1, 3)).astype(f32)
    return out.transpose(2, 0, 1, 3).reshape(R, nch, D)


def kernel_attention(s, dq, cq, variants):
    """s (R, T) f32 scaled scores. Runs the chunk / segment schedule; returns {variant: out (R, D)}."""
    R, T = s.shape
    nch = -(-T // CH)
    nseg = -(-nch // SEG_CH)
    Tp = nseg * SEG_CH * CH
    nch = nseg * SEG_CH
    sp = np.full((R, Tp), -np.inf, f32)
    sp[:, :T] = s
    dqp = np.zeros((Tp, NB), f32)
    dqp[:T] = dq
    cqp = np.zeros((Tp, NB, 32), f32)
    cqp[:T] = cq
    sc = sp.reshape(R, nch, CH)
    mc = sc.max(-1).reshape(R, nseg, SEG_CH)
    mrun = np.maximum.accumulate(mc, axis=-1)  # running max within each segment
    with np.errstate(invalid="ignore"):
        p = np.exp(sc - mrun.reshape(R, nch)[..., None]).astype(f32)
    p[~np.isfinite(p)] = 0.0
    L = p.sum(-1).astype(f32).reshape(R, nseg, SEG_CH)
    dqc = dqp.reshape(nch, CH, NB)
    cqc = cqp.reshape(nch, CH, NB, 32)
    res = {}
    for var in variants:
        P = contributions(var, p, dqc, cqc).reshape(R, nseg, SEG_CH, D)
        o = P[:, :, 0].copy()
        l = L[:, :, 0].copy()
        for j in range(1, SEG_CH):
            with np.errstate(invalid="ignore"):
                f = np.exp(mrun[:, :, j - 1] - mrun[:, :, j]).astype(f32)
            f = np.where(np.isfinite(f), f, f32(1))
            o = (o * f[..., None] + P[:, :, j]).astype(f32)
            l = (l * f + L[:, :, j]).astype(f32)
        m = mrun[:, :, -1]
        # merge segments in order
        mo, lo, oo = m[:, 0].copy(), l[:, 0].copy(), o[:, 0].copy()
        for g in range(1, nseg):
            mb = m[:, g]
            mm = np.maximum(mo, mb)
            fa = np.exp(mo - mm).astype(f32)
            fb = np.exp(mb - mm).astype(f32)
            lo = (lo * fa + l[:, g] * fb).astype(f32)
            oo = (oo * fa[:, None] + o[:, g] * fb[:, None]).astype(f32)
            mo = mm
        res[var] = (oo / lo[:, None]).astype(f32)
    return res


def simulate(T, temp, fmt, n_kv, seed, variants, chan_std=None):
    rng = np.random.default_rng(seed)
    outs = {v: [] for v in variants}
    ex, dqr = [], []
    for h in range(n_kv):
        K = rng.standard_normal((T, D)).astype(f32)
        V = rng.standard_normal((T, D)).astype(f32)
        if chan_std is not None:
            V = (V * chan_std(rng)[None, :]).astype(f32)
        q = rng.standard_normal((G, D)).astype(f32)
        scale = temp / np.sqrt(D)
        dq, cq = (quant_q8_0 if fmt == "q8_0" else quant_q4_0)(V)
        Vdeq = (dq[..., None].astype(np.float64) * cq).reshape(T, D)
        s = (q @ K.T).astype(f32) * f32(scale)
        s64 = (q.astype(np.float64) @ K.T.astype(np.float64)) * scale
        pr = np.exp(s64 - s64.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        ex.append(pr @ V.astype(np.float64))
        dqr.append(pr @ Vdeq)
        r = kernel_attention(s, dq, cq, variants)
        for v in variants:
            outs[v].append(r[v].astype(np.float64))
    ex, dqr = np.concatenate(ex), np.concatenate(dqr)
    res = {}
    for v in variants:
        o = np.concatenate(outs[v])
        rel = lambda ref: float(np.sqrt(((o - ref) ** 2).sum() / (ref ** 2).sum()))
        blk = lambda ref: float(max(np.sqrt(((o - ref)[:, b * 32:(b + 1) * 32] ** 2).sum() /
                                            (ref[:, b * 32:(b + 1) * 32] ** 2).sum()) for b in range(NB)))
        res[v] = dict(exact=rel(ex), deq=rel(dqr), exact_worst_block=blk(ex), deq_worst_block=blk(dqr))
    res["_vq_only"] = float(np.sqrt(((dqr - ex) ** 2).sum() / (ex ** 2).sum()))
    res["_ref_rms"] = float(np.sqrt((ex ** 2).mean()))
    return res


if __name__ == "__main__":
    variants = ["D", "A", "B", "C"]
    n_kv_for = {300: 256, 4096: 32, 32768: 8}
    cases = {"normal": 1.0, "peaky": 4.0, "flat": 0.1}
    results = []
    for fmt in ["q8_0", "q4_0"]:
        for cname, temp in cases.items():
            for T in [300, 4096, 32768]:
                t0 = time.time()
                r = simulate(T, temp, fmt, n_kv_for[T], seed=zlib.crc32(f"{fmt}{cname}{T}".encode()), variants=variants)
                results.append(dict(fmt=fmt, case=cname, T=T, n_rows=G * n_kv_for[T], **r))
                print(fmt, cname, T, {v: (round(r[v]["exact"], 6), round(r[v]["deq"], 6)) for v in variants},
                      "vq", round(r["_vq_only"], 6), f"{time.time() - t0:.1f}s", flush=True)
    # anisotropic values: per-channel std lognormal(0, 1) (outlier channels), block scales differ within a row
    for fmt in ["q8_0", "q4_0"]:
        for cname, temp in cases.items():
            T = 4096
            r = simulate(T, temp, fmt, 32, seed=1234, variants=variants,
                         chan_std=lambda rng: np.exp(rng.standard_normal(D)))
            results.append(dict(fmt=fmt, case=cname + "+outlier-ch", T=T, n_rows=G * 32, **r))
            print(fmt, cname + "+outlier-ch", T, {v: (round(r[v]["exact"], 6), round(r[v]["deq"], 6),
                                                     round(r[v]["deq_worst_block"], 6)) for v in variants}, flush=True)
    json.dump(results, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"), "w"), indent=1)
