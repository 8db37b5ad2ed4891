#pragma once
/// \file ref/lattice.hpp
/// Reference kernels for GGUF's codebook (lattice) formats iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq3_s, iq1_s, iq1_m
/// (format/iq_common.hpp and the format files): dequantize as gguf, the exact integer dot with q8_K activations,
/// and the quantizer both round_to_nearest and search run (quantizers.hpp), with less or more effort.
///
/// The quantizer, per super-block, weights w_i (importance, or 1):
///   1. Nearest grid entry of a group under a unit u: the per-weight nearest levels of x / u (signs taken from x;
///      where the format implies the eighth sign by parity and the signs of x have odd parity, the weight with the
///      least w x^2 gets the wrong sign), then the entries of a precomputed list of the grid entries nearest that
///      lattice point (the 16 nearest by unweighted distance; the point itself where it is in the grid), each
///      scored by its exact weighted error. iq1: both shifts of each shift group tried.
///   2. Unit of each sub-block (scale group): candidates amax / u spread over the top level's range, the best
///      refined by least-squares refits (Lloyd steps).
///   3. d (fp16) from the largest unit over the top scale field and its neighbours, and refitted by least squares
///      over the sub-blocks; each sub-block then takes the best of the scale fields nearest its unit (one with
///      round_to_nearest, three with search). The d with the least error is kept.
/// Deterministic: the same bytes for the same input on every backend. It is scalar code, but the dispatcher compiles
/// it once per target (with FMA where the target has it), so every product that is added is fenced (detail::rounded).
#include "../core/scratch.hpp"
#include "../format/iq1_m.hpp"
#include "../format/iq1_s.hpp"
#include "../format/iq2_s.hpp"
#include "../format/iq2_xs.hpp"
#include "../format/iq2_xxs.hpp"
#include "../format/iq3_s.hpp"
#include "../format/iq3_xxs.hpp"
#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

template <class Block, class = void>
struct lattice_format : std::false_type {};
template <class Block>
struct lattice_format<Block, std::void_t<decltype(Block::format::grid_width)>> : std::true_type {};

template <class Block>
using if_lattice_format = std::enable_if_t<lattice_format<Block>::value, int>;

/// Number of levels of Fmt (3 or 8) and the level index of element j of grid entry e.
template <class Fmt>
constexpr int level_count = static_cast<int>(sizeof(Fmt::levels));
template <class Fmt>
constexpr int grid_level(int e, int j) noexcept {
    return (Fmt::grid[e] >> (Fmt::level_bits * j)) & (level_count<Fmt> == 3 ? 3 : 7);
}

/// The 256 values v of a block (weight = Fmt::unit(d, s) * v): +-levels, or 8 levels +- 1 for iq1.
template <class Fmt>
void lattice_values(const iq_fields& f, std::int8_t* v) noexcept {
    constexpr int width = Fmt::grid_width;
    for (int k = 0; k < 256 / width; ++k)
        for (int j = 0; j < width; ++j) {
            const int i = k * width + j;
            int value = Fmt::levels[grid_level<Fmt>(f.index[k], j)];
            if constexpr (Fmt::delta_group != 0) value = 8 * value + (f.delta[i / Fmt::delta_group] ? -1 : 1);
            else if ((f.signs[i / 8] >> (i % 8)) & 1) value = -value;
            v[i] = static_cast<std::int8_t>(value);
        }
}

/// The grid's entries as the bytes of their values (element j in byte j): levels, or 8 levels for iq1 (its
/// shift is added apart). For the SIMD decoders, which load an entry whole.
template <class Fmt>
struct grid_bytes_table {
    using word = std::conditional_t<Fmt::grid_width == 8, std::uint64_t, std::uint32_t>;
    word entry[sizeof(Fmt::grid) / sizeof(Fmt::grid[0])];
    constexpr grid_bytes_table() : entry() {
        for (std::size_t e = 0; e < sizeof(Fmt::grid) / sizeof(Fmt::grid[0]); ++e)
            for (int j = 0; j < Fmt::grid_width; ++j) {
                const int value = (Fmt::delta_group != 0 ? 8 : 1) * Fmt::levels[grid_level<Fmt>(static_cast<int>(e), j)];
                entry[e] |= static_cast<word>(static_cast<std::uint8_t>(value)) << (8 * j);
            }
    }
};
template <class Fmt>
inline constexpr grid_bytes_table<Fmt> grid_bytes{};

/// parity_signs of every 7-bit pattern (gguf's ksigns_iq2xs), for the SIMD decoders.
struct parity_sign_table {
    std::uint8_t of[128];
    constexpr parity_sign_table() : of() {
        for (int i = 0; i < 128; ++i) of[i] = static_cast<std::uint8_t>(parity_signs(i));
    }
};
inline constexpr parity_sign_table parity_sign_bytes{};

/// For the SIMD decoders: the grid indices of weights 32k .. 32k + 31 (32 / grid_width of them), read straight
/// from the block's bytes, and their 32 sign bits (bit i: weight 32k + i negative); iq1: bit i set where weight
/// 32k + i has the shift -1/8.
template <class Fmt>
inline std::uint32_t indices32(const typename Fmt::block& b, int k, int* index) noexcept {
    const auto& ks = parity_sign_bytes.of;
    std::uint32_t signs = 0;
    if constexpr (std::is_same<Fmt, iq2_xxs>::value) {
        const std::uint32_t w = detail::load_le32(b.qs + 8 * k + 4);
        for (int l = 0; l < 4; ++l) {
            index[l] = b.qs[8 * k + l];
            signs |= static_cast<std::uint32_t>(ks[(w >> (7 * l)) & 127]) << (8 * l);
        }
    } else if constexpr (std::is_same<Fmt, iq2_xs>::value) {
        for (int l = 0; l < 4; ++l) {
            const int q = b.qs[8 * k + 2 * l] | b.qs[8 * k + 2 * l + 1] << 8;
            index[l] = q & 511;
            signs |= static_cast<std::uint32_t>(ks[q >> 9]) << (8 * l);
        }
    } else if constexpr (std::is_same<Fmt, iq2_s>::value) {
        for (int l = 0; l < 4; ++l) index[l] = b.qs[4 * k + l] | ((b.qh[k] >> (2 * l)) & 3) << 8;
        signs = detail::load_le32(b.signs + 4 * k);
    } else if constexpr (std::is_same<Fmt, iq3_xxs>::value) {
        const std::uint32_t w = detail::load_le32(b.scales_signs + 4 * k);
        for (int l = 0; l < 8; ++l) index[l] = b.qs[8 * k + l];
        for (int l = 0; l < 4; ++l) signs |= static_cast<std::uint32_t>(ks[(w >> (7 * l)) & 127]) << (8 * l);
    } else if constexpr (std::is_same<Fmt, iq3_s>::value) {
        for (int l = 0; l < 8; ++l) index[l] = b.qs[8 * k + l] | ((b.qh[k] >> l) & 1) << 8;
        signs = detail::load_le32(b.signs + 4 * k);
    } else if constexpr (std::is_same<Fmt, iq1_s>::value) {
        const int h = b.qh[2 * k] | b.qh[2 * k + 1] << 8;
        for (int l = 0; l < 4; ++l) index[l] = b.qs[4 * k + l] | ((h >> (3 * l)) & 7) << 8;
        signs = 0u - static_cast<std::uint32_t>(h >> 15);  // the shift: -1 where set, else +1
    } else {
        static_assert(std::is_same<Fmt, iq1_m>::value, "a codebook format without a decoder");
        for (int l = 0; l < 4; ++l) {
            const int n = b.qh[2 * k + l / 2] >> (4 * (l % 2));
            index[l] = b.qs[4 * k + l] | (n & 7) << 8;
            signs |= (0u - static_cast<std::uint32_t>((n >> 3) & 1)) << (8 * l) & 0xFFu << (8 * l);  // no branch
        }
    }
    return signs;
}

/// For the SIMD decoders: the sub-block scale fields of a block, without decoding its indices.
template <class Fmt>
inline void sub_scales(const typename Fmt::block& b, int* s) noexcept {
    if constexpr (std::is_same<Fmt, iq2_xxs>::value) {
        for (int k = 0; k < 8; ++k) s[k] = b.qs[8 * k + 7] >> 4;
    } else if constexpr (std::is_same<Fmt, iq3_xxs>::value) {
        for (int k = 0; k < 8; ++k) s[k] = b.scales_signs[4 * k + 3] >> 4;
    } else if constexpr (std::is_same<Fmt, iq1_s>::value) {
        for (int k = 0; k < 8; ++k) s[k] = (b.qh[2 * k + 1] >> 4) & 7;
    } else if constexpr (std::is_same<Fmt, iq3_s>::value) {
        for (int k = 0; k < 8; ++k) s[k] = (b.scales[k / 2] >> (4 * (k % 2))) & 15;
    } else if constexpr (std::is_same<Fmt, iq1_m>::value) {
        for (int h = 0; h < 16; ++h) s[h] = ((b.scales[2 * (h / 4)] | b.scales[2 * (h / 4) + 1] << 8) >> (3 * (h % 4))) & 7;
    } else {  // iq2_xs, iq2_s: a nibble per 16 weights
        for (int h = 0; h < 16; ++h) s[h] = (b.scales[h / 2] >> (4 * (h % 2))) & 15;
    }
}

/// For every point of the lattice (a level index per element, element 0 least significant, base level_count), the
/// grid entries to try: the point's own entry where it is in the grid, else the 16 entries nearest it (squared
/// distance of the level values; ties to the lower index). Built once per grid, on first use.
template <class Fmt>
struct grid_neighbours {
    static constexpr int width = Fmt::grid_width, levels = level_count<Fmt>, kept = 16;
    detail::scratch<int> start, entries;  // per-target vectors (core/scratch.hpp)

    static int lattice_point(int e) noexcept {
        int p = 0;
        for (int j = width - 1; j >= 0; --j) p = p * levels + grid_level<Fmt>(e, j);
        return p;
    }
    grid_neighbours() {
        constexpr int n = static_cast<int>(sizeof(Fmt::grid) / sizeof(Fmt::grid[0]));
        int points = 1;
        for (int j = 0; j < width; ++j) points *= levels;
        detail::scratch<int> own(static_cast<std::size_t>(points), -1);
        for (int e = 0; e < n; ++e) own[static_cast<std::size_t>(lattice_point(e))] = e;
        start.reserve(static_cast<std::size_t>(points) + 1);
        for (int p = 0; p < points; ++p) {
            start.push_back(static_cast<int>(entries.size()));
            if (own[static_cast<std::size_t>(p)] >= 0) {
                entries.push_back(own[static_cast<std::size_t>(p)]);
                continue;
            }
            int lp[width];
            for (int j = 0, q = p; j < width; ++j, q /= levels) lp[j] = Fmt::levels[q % levels];
            std::pair<int, int> best[kept];  // (distance, entry), sorted
            int count = 0;
            for (int e = 0; e < n; ++e) {
                int dist = 0;
                for (int j = 0; j < width; ++j) {
                    const int diff = lp[j] - Fmt::levels[grid_level<Fmt>(e, j)];
                    dist += diff * diff;
                }
                const std::pair<int, int> c{dist, e};
                if (count == kept && !(c < best[kept - 1])) continue;
                int at = count < kept ? count++ : kept - 1;
                for (; at > 0 && c < best[at - 1]; --at) best[at] = best[at - 1];
                best[at] = c;
            }
            for (int k = 0; k < count; ++k) entries.push_back(best[k].second);
        }
        start.push_back(static_cast<int>(entries.size()));
    }
    static const grid_neighbours& get() {
        static const grid_neighbours table;
        return table;
    }
};

/// The quantizer of format Fmt (see the file comment).
template <class Fmt>
struct lattice_quantizer {
    static constexpr int width = Fmt::grid_width, group = Fmt::scale_group, nscales = 256 / Fmt::scale_group;
    static constexpr int levels = level_count<Fmt>;
    static constexpr int scale_max = Fmt::delta_group != 0 ? 7 : 15;
    static constexpr int delta_span = Fmt::delta_group != 0 ? Fmt::delta_group : 8;  // weights sharing a choice

    /// One sub-block quantized under a unit: its error, least-squares sums, and fields (relative to the sub-block).
    struct result {
        double err = 0.0, sxv = 0.0, svv = 0.0;
        int index[32 / width] = {}, signs[4] = {}, delta[4] = {};
    };

    /// Best entry for targets t (in value units) with weights w, level values lv; returns the entry.
    static int best_entry(const float* t, const float* w, const float* lv) noexcept {
        const grid_neighbours<Fmt>& nb = grid_neighbours<Fmt>::get();
        int p = 0;
        for (int j = width - 1; j >= 0; --j) {
            int l = 0;
            for (int k = 1; k < levels; ++k)
                if (std::fabs(t[j] - lv[k]) < std::fabs(t[j] - lv[l])) l = k;
            p = p * levels + l;
        }
        const int first = nb.start[static_cast<std::size_t>(p)], last = nb.start[static_cast<std::size_t>(p) + 1];
        int best = nb.entries[static_cast<std::size_t>(first)];
        if (last - first == 1) return best;
        float least = 0.0f;
        for (int c = first; c < last; ++c) {
            const int e = nb.entries[static_cast<std::size_t>(c)];
            float cost = 0.0f;
            for (int j = 0; j < width; ++j) {
                const float diff = t[j] - lv[grid_level<Fmt>(e, j)];
                cost += detail::rounded(w[j] * diff * diff);
            }
            if (c == first || cost < least) least = cost, best = e;
        }
        return best;
    }

    /// Quantizes `count` weights (a multiple of 8, within one shift group for iq1) under unit u > 0 with shift
    /// `delta` (iq1: 0 for +1/8, 1 for -1/8); adds into r (its index, signs relative to x's first weight).
    static void quantize_span(const float* x, const float* w, int count, float u, int delta, result& r, int at) noexcept {
        float lv[levels];
        for (int l = 0; l < levels; ++l)
            lv[l] = Fmt::delta_group != 0 ? static_cast<float>(8 * Fmt::levels[l] + (delta ? -1 : 1)) : Fmt::levels[l];
        const float inv = 1.0f / u;
        for (int g = 0; g < count / 8; ++g) {
            const float *xg = x + 8 * g, *wg = w + 8 * g;
            float t[8];
            int signs = 0;
            for (int j = 0; j < 8; ++j) {
                if constexpr (Fmt::delta_group != 0) {
                    t[j] = xg[j] * inv;
                } else {
                    t[j] = std::fabs(xg[j]) * inv;
                    signs |= (xg[j] < 0.0f) << j;
                }
            }
            if constexpr (Fmt::parity_signs) {
                if (parity_signs(signs) != signs) {  // odd: one weight takes the wrong sign
                    int k = 0;
                    for (int j = 1; j < 8; ++j)
                        if (wg[j] * xg[j] * xg[j] < wg[k] * xg[k] * xg[k]) k = j;
                    signs ^= 1 << k;
                    t[k] = -t[k];
                }
            }
            const int sg = (at + 8 * g) / 8;
            if constexpr (Fmt::delta_group == 0) r.signs[sg] = signs;
            for (int h = 0; h < 8 / width; ++h) {
                const int e = best_entry(t + width * h, wg + width * h, lv);
                r.index[(at + 8 * g) / width + h] = e;
                for (int j = 0; j < width; ++j) {
                    const int i = width * h + j;
                    float v = lv[grid_level<Fmt>(e, j)];
                    if (Fmt::delta_group == 0 && ((signs >> i) & 1)) v = -v;
                    const double wi = wg[i], xi = xg[i], diff = xi - detail::rounded(static_cast<double>(u) * v);
                    r.err += detail::rounded(wi * diff * diff);
                    r.sxv += detail::rounded(wi * xi * v);
                    r.svv += detail::rounded(wi * static_cast<double>(v) * v);
                }
            }
        }
        if constexpr (Fmt::delta_group != 0) r.delta[at / Fmt::delta_group] = delta;
    }

    /// One sub-block (group weights) under unit u (0: every weight 0, entry 0).
    static result quantize_sub(const float* x, const float* w, float u) noexcept {
        result r;
        if (!(u > 0.0f)) {
            for (int i = 0; i < group; ++i) r.err += detail::rounded(static_cast<double>(w[i]) * x[i] * x[i]);
            return r;
        }
        for (int at = 0; at < group; at += delta_span) {
            if constexpr (Fmt::delta_group != 0) {
                result plus, minus;
                quantize_span(x + at, w + at, delta_span, u, 0, plus, at);
                quantize_span(x + at, w + at, delta_span, u, 1, minus, at);
                const result& pick = minus.err < plus.err ? minus : plus;
                r.err += pick.err, r.sxv += pick.sxv, r.svv += pick.svv;
                for (int k = at / width; k < (at + delta_span) / width; ++k) r.index[k] = pick.index[k];
                r.delta[at / Fmt::delta_group] = pick.delta[at / Fmt::delta_group];
            } else {
                quantize_span(x + at, w + at, delta_span, u, 0, r, at);
            }
        }
        return r;
    }

    /// The best unit of a sub-block: candidates, then Lloyd steps. Returns the unit (0 for an all-zero sub-block)
    /// and in r its result.
    static float fit_sub(const float* x, const float* w, int candidates, result& best) noexcept {
        float amax = 0.0f;
        for (int i = 0; i < group; ++i) amax = std::max(amax, std::fabs(x[i]));
        best = quantize_sub(x, w, 0.0f);
        if (amax == 0.0f) return 0.0f;
        const float top = Fmt::delta_group != 0 ? 9.0f : Fmt::levels[levels - 1];
        float best_u = 0.0f;
        const auto consider = [&](float u) {
            if (!(u > 0.0f) || !std::isfinite(u)) return;
            const result r = quantize_sub(x, w, u);
            if (r.err < best.err) best = r, best_u = u;
        };
        for (int c = 0; c < candidates; ++c)
            consider(amax / (top * (0.45f + 0.75f * static_cast<float>(c) / static_cast<float>(candidates - 1))));
        for (int step = 0; step < 2 && best.svv > 0.0; ++step) consider(static_cast<float>(best.sxv / best.svv));
        return best_u;
    }

    /// Quantizes a super-block. effort 0: round_to_nearest; 1: search (more candidates, three scale fields each).
    static void quantize(const float* x, const float* w, typename Fmt::block& y, int effort) noexcept {
        float a[nscales];
        double va[nscales];
        float amax = 0.0f;
        for (int k = 0; k < nscales; ++k) {
            result r;
            a[k] = fit_sub(x + group * k, w + group * k, effort ? 16 : 4, r);
            va[k] = r.svv;
            amax = std::max(amax, a[k]);
        }
        iq_fields best;  // all zero: d = 0
        double best_err = -1.0;
        const auto try_d = [&](double d_wanted, iq_fields& f) {
            f.d_bits = fp32_to_fp16(static_cast<float>(d_wanted));
            const float d = fp16_to_fp32(f.d_bits);
            double err = 0.0;
            for (int k = 0; k < nscales; ++k) {
                const float *xs = x + group * k, *ws = w + group * k;
                const bool usable = d > 0.0f && std::isfinite(d);  // else every weight 0 (the block is rejected
                                                                    // by the caller where d overflowed)
                const float ideal = usable ? a[k] / (d * Fmt::dot_factor) : 1.0f;
                const int s0 = std::clamp(static_cast<int>(std::lround(std::min((ideal - 1.0f) * 0.5f, 64.0f))), 0, scale_max);
                double least = -1.0;
                for (int s = std::max(0, s0 - effort); s <= std::min(scale_max, s0 + effort); ++s) {
                    const result r = quantize_sub(xs, ws, usable ? Fmt::unit(d, s) : 0.0f);
                    if (least >= 0.0 && !(r.err < least)) continue;
                    least = r.err;
                    f.scale[k] = s;
                    for (int g = 0; g < group / width; ++g) f.index[k * group / width + g] = r.index[g];
                    for (int g = 0; g < group / 8; ++g) f.signs[k * group / 8 + g] = r.signs[g];
                    if constexpr (Fmt::delta_group != 0)
                        for (int g = 0; g < group / Fmt::delta_group; ++g)
                            f.delta[k * group / Fmt::delta_group + g] = r.delta[g];
                }
                err += least;
            }
            if (best_err < 0.0 || err < best_err) best_err = err, best = f;
        };
        if (amax > 0.0f) {
            for (int t = 0; t <= (effort ? 3 : 0); ++t) {
                iq_fields f;
                try_d(amax / ((2.0 * (scale_max - t) + 1.0) * Fmt::dot_factor), f);
                double num = 0.0, den = 0.0;  // least-squares d for f's scale fields
                for (int k = 0; k < nscales; ++k) {
                    const double m = (2.0 * f.scale[k] + 1.0) * Fmt::dot_factor;
                    num += detail::rounded(va[k] * a[k] * m);
                    den += detail::rounded(va[k] * m * m);
                }
                if (den > 0.0 && std::isfinite(num / den)) try_d(num / den, f);
            }
        }
        Fmt::pack(best, y);
    }
};

}  // namespace ref

/// round_to_nearest: the quantizer with least effort and unit weights (see the file comment).
template <class Block, ref::if_lattice_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) noexcept {
    float ones[qk_k];
    for (float& v : ones) v = 1.0f;
    for (std::size_t b = 0; b < nblocks; ++b) ref::lattice_quantizer<typename Block::format>::quantize(x + qk_k * b, ones, y[b], 0);
}

/// x_i = Fmt::unit(d, s) * v_i, as gguf's dequantization computes it.
template <class Block, ref::if_lattice_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    using Fmt = typename Block::format;
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        iq_fields f;
        Fmt::unpack(x[b], f);
        // alignas: GCC 12 -O3 with AVX-512 flags placed this array 16 bytes off in the red zone and read it with
        // vmovdqa (SIGSEGV); explicitly aligned, it realigns the frame for it (../shared/TOOLCHAIN.md).
        alignas(64) std::int8_t v[qk_k];
        ref::lattice_values<Fmt>(f, v);
        const float d = fp16_to_fp32(f.d_bits);
        for (std::size_t i = 0; i < qk_k; ++i) y[i] = Fmt::unit(d, f.scale[i / Fmt::scale_group]) * static_cast<float>(v[i]);
    }
}

/// With q8_K activations: isum = sum over sub-blocks of (2s + 1) * sum v q_a, exact; sum over super-blocks, in
/// order, of float(isum) * (d_w * d_a); the result times Fmt::dot_factor.
template <class Block, ref::if_lattice_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const scalar&) noexcept {
    using Fmt = typename Block::format;
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        iq_fields f;
        Fmt::unpack(w[b], f);
        alignas(64) std::int8_t v[qk_k];
        ref::lattice_values<Fmt>(f, v);
        std::int32_t isum = 0;
        for (int s = 0; s < static_cast<int>(qk_k) / Fmt::scale_group; ++s) {
            std::int32_t part = 0;
            for (int i = s * Fmt::scale_group; i < (s + 1) * Fmt::scale_group; ++i) part += v[i] * a[b].qs[i];
            isum += (2 * f.scale[s] + 1) * part;
        }
        sum += detail::rounded(static_cast<float>(isum) * (fp16_to_fp32(f.d_bits) * a[b].d.value()));
    }
    return sum * Fmt::dot_factor;
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
