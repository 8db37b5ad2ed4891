# Pack quantizer output into the proposed lane-interleaved layout and decode it with a scalar emulation of the
# SIMD recipe (vpshrdw -> vpmullw -> vpermb(LUT) -> scale), checking bit-exactness vs the quantizer.
import sys
from tcq import *

def pack_tile(st, ks, L, lanes=32):
    """st: lane-major circular state sequence for one tile. returns words[nw, lanes] uint16 (word w of lane j at
    memory index w*lanes + j) and per-lane bit count B."""
    T = len(st) // lanes
    kl = ks[:T]
    B = int(kl.sum()); assert B % 16 == 0, B
    nw = B // 16
    words = np.zeros((nw, lanes), np.uint32)
    for j in range(lanes):
        pos = 0
        for t in range(T):
            k = int(kl[t]); b = int(st[j * T + t]) >> (L - k)
            for i in range(k):
                if (b >> i) & 1:
                    words[(pos + i) // 16, j] |= 1 << ((pos + i) % 16)
            pos += k
    return words.astype(np.uint16), B

def decode_tile(words, kl, L, q, a, table_i8, scales, block=256, lanes=32):
    nw = words.shape[0]; T = len(kl)
    w32 = words.astype(np.uint32)
    # extended stream per lane: word -1 = previous lane's last word (lane 0 <- lane 31): one vpermw/valignq per tile
    prev = np.roll(w32[nw - 1], 1)
    ext = np.vstack([prev[None], w32, np.zeros((1, lanes), np.uint32)])   # +1 zero word: over-read pad
    mul = (a << (16 - L)) & 0xFFFF
    out = np.empty((T, lanes), np.float32)
    P = np.cumsum(kl)
    for t in range(T):
        o = int(P[t]) - L + 16                  # bit offset of window start in ext stream
        w, sh = o >> 4, o & 15
        W16 = ((ext[w + 1] << 16 | ext[w]) >> sh) & 0xFFFF          # vpshrdw  (1 instr / 32 weights)
        h = (W16 * mul) & 0xFFFF                                      # vpmullw  (1)
        idx = h >> (16 - q)                                           # (folded into vpermb byte index)
        v = table_i8[idx].astype(np.float32)                          # vpermb / vpermi2b (1)
        out[t] = v
    vals = out.reshape(-1)                                             # weight index t*32+j  (natural order)
    return vals * np.repeat(scales, block)

if __name__ == "__main__":
    # usage: decode_ref.py L q a k-pattern(comma) tile_weights scale_block alpha
    L, q, a = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3], 0); P = [int(c) for c in sys.argv[4].split(",")]
    tile, blk, alpha = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
    tab = gauss_quantile_table(q, int8=False)
    unit = np.abs(tab).max() / 127
    ti8 = np.round(tab / unit).astype(np.int8)          # the int8 LUT that lives in registers
    vals, idx = code_lutL(L, q, table=ti8.astype(np.float32) * unit, a=a)
    x = data("gauss", tile // 4096, seed=3).reshape(-1)  # one tile = tile//4096 rows of 4096
    xh, st, ks = quant_row3(x, vals, L, P, alpha=alpha, block=blk)
    assert check_bitstream(st, ks, L, True)
    words, B = pack_tile(st, ks, L)
    perm = (np.arange(tile // 32)[None, :] * 32 + np.arange(32)[:, None]).reshape(-1)
    v = np.empty(tile, np.float32); v[perm] = vals[st]
    s = np.array([np.dot(a_, b_) / np.dot(b_, b_) for a_, b_ in zip(xh.reshape(-1, blk), v.reshape(-1, blk))], np.float32)
    s16 = (s * unit).astype(np.float16)               # fp16 scale applied to the raw int8 LUT value
    dec = decode_tile(words, ks[:len(st) // 32], L, q, a, ti8, s16.astype(np.float32), block=blk)
    print(f"L={L} q={q} a={a:#06x} pattern={P} tile={tile}: bits/lane/tile={B} ({B//16} words), codes {words.nbytes} B + "
          f"scales {s16.nbytes} B = {(words.nbytes + s16.nbytes) * 8 / tile:.5f} bpw")
    print(f"   max|decoded - quantizer| = {np.abs(dec - xh).max():.2e}   SNR quantizer {snr(x, xh):.3f}  SNR decoded-from-bits {snr(x, dec):.3f}")
