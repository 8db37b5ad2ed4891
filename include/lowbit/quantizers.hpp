#pragma once
/// \file quantizers.hpp
/// Quantization methods, chosen per call through lowbit::quant_options (see quantize_row in api.hpp):
///
///   round_to_nearest  The formats' reference quantizers: GGUF-identical bytes for q4_0 ... q8_0, the documented
///                     baseline for the K formats (arch/scalar/kquants.hpp). Importance weights are ignored.
///   search            Minimizes the importance-weighted squared error sum_i w_i (x_i - y_i)^2 of each block,
///                     y the dequantized values (w_i = 1 without importance). Never worse than
///                     round_to_nearest: every block is also quantized by it, and the better block (by the
///                     exact error of its dequantized values, ties to round_to_nearest) is kept.
///   seqmse, gptq      Minimize the error of the layer's output on calibration activations (calibration.hpp, which
///                     needs Eigen; quant_options::calibration points to its statistics).
///
/// The search, for a group of values x_i with weights w_i and integer codes q_i in [qlo, qhi]:
///   1. Candidate scales: the group's extreme value (signed max |x| for symmetric codes; max - min for codes
///      with an offset) is mapped to a code near the end of the range, target + 0.2k for k = -3..3 (and for
///      symmetric codes both ends, -qlo != qhi). Each candidate rounds every x_i to its code.
///   2. Given the codes, the scale (and offset) minimizing the weighted error is solved by weighted least
///      squares: a = sum w x q / sum w q^2 (symmetric), or the 2x2 normal equations for x ~ a q + b (with
///      b <= 0 for the K formats' mins, falling back to b = 0). The best candidate is kept and refined by two
///      more round/refit steps (Lloyd iterations), each kept only if it lowers the error.
/// iq4_nl and mxfp4 (codes into a table) search the scale as search_nonlinear_block says; the codebook formats
/// (iq1, iq2, iq3) as ref/lattice.hpp says; the trellis formats (tcq2, tcq3) run round_to_nearest's Viterbi search
/// (ref/trellis.hpp) again with the importance weights (search_trellis_block).
/// Formats with one scale per 32 values (q4_0, q4_1, q5_0, q5_1, q8_0) store the fitted scale (and min) as
/// fp16 and re-round every code with the stored values. K formats fit every sub-block as above, then quantize
/// the sub-block scales and mins to their integer codes under fp16 super-block scales d and dmin, trying
///   A. d = the largest sub-scale / the largest scale code (as round_to_nearest does, but from fitted scales);
///   B. d refitted by least squares over the sub-blocks, each weighted by sum w q^2 (mins by sum w);
///   C. the better of A and B with d and dmin refitted by least squares over all 256 weights, codes fixed;
/// re-rounding every code under the stored scales each time, and keeping the block with the least error.
/// Cost: about 20 to 30 passes over the data (see the README's table for times).
///
/// Results are deterministic for a given build. The search's floating-point sums may contract into FMAs
/// differently under other compiler flags, which can change a close choice between candidates; the blocks
/// it writes are valid and never worse than round_to_nearest either way.
#include "ref/kquant.hpp"
#include "ref/lattice.hpp"
#include "ref/linear32.hpp"
#include "ref/nonlinear.hpp"
#include "ref/q8.hpp"
#include "ref/ternary.hpp"
#include "ref/trellis.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN

/// How quantize_row / quantize choose codes and scales (see the file comment; seqmse and gptq: calibration.hpp).
enum class quant_method { round_to_nearest, search, seqmse, gptq };

class thread_pool;
namespace detail {
class calibrated_method;
}

/// Options of one quantize_row / quantize call.
struct quant_options {
    quant_method method = quant_method::round_to_nearest;
    /// Importance of each column: n floats (the row length), finite and >= 0, or nullptr for all 1. With a
    /// matrix, every row uses the same vector. Used by `search` only.
    const float* importance = nullptr;
    /// seqmse and gptq (required there, ignored by the others): the statistics of the layer's input activations,
    /// a lowbit::calibration_stats (calibration.hpp) of the row length's columns.
    const detail::calibrated_method* calibration = nullptr;
    /// gptq: damping added to the Hessian's diagonal, as a fraction of its mean diagonal.
    float damping = 0.01f;
    /// gptq: quantize the blocks in order of decreasing activation energy (GPTQ's act-order, by whole blocks).
    bool act_order = false;
    /// seqmse and gptq: threads for the rows (nullptr: the calling thread only). Results do not depend on it.
    thread_pool* pool = nullptr;
};

namespace detail::search {

/// x ~ scale * q + offset, with the weighted squared error `err` of the codes it was fitted to.
struct fit {
    double scale = 0.0, offset = 0.0, err = 0.0, sum_wqq = 0.0;
};

/// Weighted sums of a group under one rounding. The code-independent sums (w, x, xx) are computed once per
/// group; the code sums in float, 8 lanes at a time, so compilers can vectorize them without reassociating
/// (ranking candidates needs only about 1e-7 relative precision: the final choice uses the exact error).
struct sums {
    double w = 0, q = 0, qq = 0, x = 0, xq = 0, xx = 0;
};

constexpr int lanes = 8;  // groups are 16 or 32 values

inline sums group_sums(const float* x, const float* w, int n) noexcept {
    sums s;
    for (int i = 0; i < n; ++i) {
        s.w += w[i];
        s.x += static_cast<double>(w[i]) * x[i];
        s.xx += static_cast<double>(w[i]) * x[i] * x[i];
    }
    return s;
}

/// Code of (x - origin) * inv: nearest integer (ties to even) in [lo, hi]; NaN gives lo.
inline float nearest_code(float v, float lo, float hi) noexcept {
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    return std::nearbyint(v);
}

/// Rounds every (x_i - origin) * inv to a code in [qlo, qhi] and adds the code sums to `fixed`.
inline sums round_group(const float* x, const float* w, int n, const sums& fixed, float origin, float inv, int qlo,
                        int qhi) noexcept {
    const float lo = static_cast<float>(qlo), hi = static_cast<float>(qhi);
    float aq[lanes] = {}, aqq[lanes] = {}, axq[lanes] = {};
    for (int i0 = 0; i0 < n; i0 += lanes) {
        for (int l = 0; l < lanes; ++l) {
            const float q = nearest_code((x[i0 + l] - origin) * inv, lo, hi), wq = w[i0 + l] * q;
            aq[l] += wq;
            aqq[l] += wq * q;
            axq[l] += wq * x[i0 + l];
        }
    }
    sums s = fixed;
    for (int l = 0; l < lanes; ++l) {
        s.q += aq[l];
        s.qq += aqq[l];
        s.xq += axq[l];
    }
    return s;
}

/// Least-squares fit of x ~ a q (+ b) to the sums; with_offset: b fitted, and kept <= 0 if nonpositive.
inline fit solve(const sums& s, bool with_offset, bool nonpositive) noexcept {
    fit f;
    if (with_offset) {
        const double det = s.w * s.qq - s.q * s.q;
        if (det > 0.0) {
            f.scale = (s.w * s.xq - s.q * s.x) / det;
            f.offset = (s.qq * s.x - s.q * s.xq) / det;
        } else if (s.w > 0.0) {
            f.offset = s.x / s.w;  // every code equal: the weighted mean
        }
        if (nonpositive && f.offset > 0.0) {
            f.offset = 0.0;
            f.scale = s.qq > 0.0 ? s.xq / s.qq : 0.0;
        }
    } else if (s.qq > 0.0) {
        f.scale = s.xq / s.qq;
    }
    const double a = f.scale, b = f.offset;
    f.err = s.xx - 2.0 * a * s.xq - 2.0 * b * s.x + a * a * s.qq + 2.0 * a * b * s.q + b * b * s.w;
    f.sum_wqq = s.qq;
    return f;
}

constexpr int half_steps = 3;  // candidates target + step * k, k = -half_steps .. half_steps
constexpr float step = 0.2f;
constexpr int refine_steps = 2;

/// Step 2 repeated from `best`: re-round under its scale, refit, keep while the error drops.
inline fit refine(const float* x, const float* w, int n, const sums& fixed, int qlo, int qhi, bool with_offset,
                  bool nonpositive, fit best) {
    for (int iter = 0; iter < refine_steps && best.scale != 0.0; ++iter) {
        const auto s = round_group(x, w, n, fixed, static_cast<float>(best.offset), static_cast<float>(1.0 / best.scale),
                                   qlo, qhi);
        const fit f = solve(s, with_offset, nonpositive);
        if (!(f.err < best.err)) break;
        best = f;
    }
    return best;
}


/// Symmetric codes q in [qlo, qhi] (qlo < 0 < qhi): x ~ a q.
inline fit fit_symmetric(const float* x, const float* w, int n, int qlo, int qhi) {
    const float m = arch::ref::find_signed_absmax(x, static_cast<std::size_t>(n)).value;
    fit best;
    best.err = HUGE_VAL;
    if (m == 0.0f) return fit{};
    const sums fixed = group_sums(x, w, n);
    for (int target : {qlo, qhi}) {
        if (target == qhi && qhi == -qlo) break;  // the same candidates with the sign of a flipped
        for (int k = -half_steps; k <= half_steps; ++k) {
            const float den = static_cast<float>(target) + step * static_cast<float>(k) * (target < 0 ? -1.0f : 1.0f);
            const fit f = solve(round_group(x, w, n, fixed, 0.0f, den / m, qlo, qhi), false, false);
            if (f.err < best.err) best = f;
        }
    }
    return refine(x, w, n, fixed, qlo, qhi, false, false, best);
}

/// Codes q in [0, qmax] with an offset: x ~ a q + b (b <= 0 if nonpositive).
inline fit fit_affine(const float* x, const float* w, int n, int qmax, bool nonpositive) {
    float lo = nonpositive ? 0.0f : x[0], hi = x[0];
    for (int i = 0; i < n; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    fit best;
    best.err = HUGE_VAL;
    if (!(hi > lo)) {
        best.offset = lo;
        best.err = 0.0;
        return best;
    }
    const sums fixed = group_sums(x, w, n);
    for (int k = -half_steps; k <= half_steps; ++k) {
        const float den = static_cast<float>(qmax) + step * static_cast<float>(k);
        const fit f = solve(round_group(x, w, n, fixed, lo, den / (hi - lo), 0, qmax), true, nonpositive);
        if (f.err < best.err) best = f;
    }
    return refine(x, w, n, fixed, 0, qmax, true, nonpositive, best);
}

/// Weighted squared error of a block's dequantized values (the exact reference dequantization).
template <class Block>
double block_error(const float* x, const float* w, const Block& b) {
    constexpr std::size_t n = Block::format::block_size;
    float y[n];
    arch::dequantize_blocks(&b, y, 1, arch::scalar{});
    double e = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - y[i];
        e += w[i] * d * d;
    }
    return e;
}

/// Keeps `candidate` in `best` if its error is lower.
template <class Block>
void keep_better(const float* x, const float* w, const Block& candidate, Block& best, double& best_err) {
    const double e = block_error(x, w, candidate);
    if (e < best_err) {
        best = candidate;
        best_err = e;
    }
}

inline float to_stored_half(double v) noexcept { return fp16_to_fp32(fp32_to_fp16(static_cast<float>(v))); }

// ---- q4_0, q4_1, q5_0, q5_1, q8_0: one fp16 scale (and min) per 32 values ----

/// The code range and block writer of each 32-value format.
template <class Block>
struct legacy {
    using traits = arch::ref::nibble_format<Block>;
    static constexpr bool has_min = traits::has_min;
    static constexpr int qlo = -traits::zero_point, qhi = (1 << traits::bits) - 1 - traits::zero_point;
    /// q: signed codes (symmetric) or codes (with a min).
    static void assemble(float d, [[maybe_unused]] float m, const int* q, Block& b) noexcept {
        int code[32];
        for (int j = 0; j < 32; ++j) code[j] = q[j] - qlo;
        store_half(b.d, d);
        if constexpr (has_min) store_half(b.m, m);
        if constexpr (traits::bits == 5) arch::ref::pack_high_bits(code, b.qh);
        arch::ref::pack_nibbles(code, b.qs);
    }
};
template <>
struct legacy<q8_0::block> {
    static constexpr bool has_min = false;
    static constexpr int qlo = -127, qhi = 127;
    static void assemble(float d, float, const int* q, q8_0::block& b) noexcept {
        store_half(b.d, d);
        for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<std::int8_t>(q[j]);
    }
};

template <class Block>
void search_legacy_block(const float* x, const float* w, Block& y) {
    using L = legacy<Block>;
    Block best;
    arch::quantize_blocks(x, &best, 1, arch::scalar{});
    double best_err = block_error(x, w, best);
    const fit f = L::has_min ? fit_affine(x, w, 32, L::qhi, false) : fit_symmetric(x, w, 32, L::qlo, L::qhi);
    const float d = to_stored_half(f.scale), m = to_stored_half(f.offset);
    const float id = arch::ref::inverse_or_zero(d);
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = arch::ref::nearest_clamped((x[j] - m) * id, L::qlo, L::qhi);
    Block candidate;
    L::assemble(d, m, q, candidate);
    keep_better(x, w, candidate, best, best_err);
    y = best;
}

// ---- iq4_nl, mxfp4: codes into a table of 16 values ----

/// iq4_nl: the signed max is mapped to table positions -127 + t, t = -8..8 (each rounds every value to its
/// nearest table entry), each candidate's scale refitted by weighted least squares, re-rounded under the fp16
/// scale, and the best one refined by Lloyd steps. mxfp4: the codes are already the nearest under each scale, so
/// only the shared exponent is searched: the round_to_nearest exponent and its two neighbours.
template <class Block>
void search_nonlinear_block(const float* x, const float* w, Block& y) {
    using Fmt = typename Block::format;
    Block best;
    arch::quantize_blocks(x, &best, 1, arch::scalar{});
    double best_err = block_error(x, w, best);
    int code[32];
    Block candidate;
    if constexpr (std::is_same<Fmt, mxfp4>::value) {
        const int e0 = best.e;
        for (int e = e0 - 1; e <= e0 + 1; e += 2) {
            if (e < 0 || e > 255) continue;
            candidate.e = static_cast<std::uint8_t>(e);
            const float d = Fmt::scale(candidate);
            for (int j = 0; j < 32; ++j) code[j] = arch::ref::nearest_mxfp4(x[j], d);
            arch::ref::pack_nibbles(code, candidate.qs);
            keep_better(x, w, candidate, best, best_err);
        }
    } else {
        // Rounds under the stored scale of d, keeps the block if better; returns the least-squares refit of d.
        auto try_scale = [&](float d) {
            store_half(candidate.d, d);
            const float id = arch::ref::inverse_or_zero(load_half(candidate.d));
            double sxv = 0.0, svv = 0.0;
            for (int j = 0; j < 32; ++j) {
                code[j] = arch::ref::nearest_ascending(Fmt::values, x[j] * id);
                const double v = Fmt::values[code[j]];
                sxv += w[j] * v * x[j];
                svv += w[j] * v * v;
            }
            arch::ref::pack_nibbles(code, candidate.qs);
            keep_better(x, w, candidate, best, best_err);
            return svv > 0.0 ? static_cast<float>(sxv / svv) : 0.0f;
        };
        const float m = arch::ref::find_signed_absmax(x, 32).value;
        if (m == 0.0f) {
            y = best;
            return;
        }
        for (int t = -8; t <= 8; ++t) {
            const float refit = try_scale(m / (-127.0f + static_cast<float>(t)));
            if (std::isfinite(refit)) try_scale(refit);
        }
        float d = try_scale(load_half(best.d));  // Lloyd steps from the best: refit, round
        for (int step = 0; step < 2; ++step) d = try_scale(d);
    }
    y = best;
}

// ---- tq1_0, tq2_0: codes -1, 0, 1 times d ----

/// For a set S of nonzero codes (q_i = sign x_i there) the best d is sum_S w |x| / sum_S w, and the error drops
/// by (sum_S w |x|)^2 / sum_S w. S is searched among the k values of largest |x|, k = 1..256 (exact without
/// importance); the best d is stored as fp16 and every code re-rounded under it (nearest of -1, 0, 1).
template <class Block>
void search_ternary_block(const float* x, const float* w, Block& y) {
    arch::quantize_blocks(x, &y, 1, arch::scalar{});
    double best_err = block_error(x, w, y);
    int order[256];
    for (int i = 0; i < 256; ++i) order[i] = i;
    std::stable_sort(order, order + 256, [x](int a, int b) { return std::fabs(x[a]) > std::fabs(x[b]); });
    double swx = 0.0, sw = 0.0, best_gain = 0.0, best_d = 0.0;
    for (int k = 0; k < 256; ++k) {
        swx += w[order[k]] * std::fabs(static_cast<double>(x[order[k]]));
        sw += w[order[k]];
        if (sw > 0.0 && swx * swx / sw > best_gain) {
            best_gain = swx * swx / sw;
            best_d = swx / sw;
        }
    }
    const float d = to_stored_half(best_d);
    const float id = arch::ref::inverse_or_zero(d);
    int q[256];
    for (int i = 0; i < 256; ++i) q[i] = arch::ref::nearest_clamped(x[i] * id, -1, 1) + 1;
    Block candidate;
    arch::ref::pack_ternary(q, candidate);
    store_half(candidate.d, d);
    keep_better(x, w, candidate, y, best_err);
}

// ---- tcq2, tcq3: trellis-coded ----

/// The Viterbi search of ref/trellis.hpp weighted by importance; round_to_nearest's block, already in y, is kept where
/// it is better. (Without importance round_to_nearest's search is already the search: more search scales than its
/// own, from 0.75 to 2.5 times, gained below 0.2 dB on Student-t data for 3 times the time.)
template <class Format>
void search_trellis_block(arch::ref::trellis_search<Format>& search, const float* x, const float* w,
                          typename Format::block& y) {
    double best_err = block_error(x, w, y);
    typename Format::block candidate;
    search.quantize(x, w, candidate);
    keep_better(x, w, candidate, y, best_err);
}

// ---- iq1, iq2, iq3: codebook formats ----

/// The quantizer of ref/lattice.hpp with its search effort (more unit candidates, three scale fields per
/// sub-block) and the importance weights; round_to_nearest's block is kept where it is better.
template <class Block>
void search_lattice_block(const float* x, const float* w, Block& y) {
    arch::quantize_blocks(x, &y, 1, arch::scalar{});
    double best_err = block_error(x, w, y);
    Block candidate;
    arch::ref::lattice_quantizer<typename Block::format>::quantize(x, w, candidate, 1);
    keep_better(x, w, candidate, y, best_err);
}

// ---- K formats ----

/// Integer sub-block scales (and mins) for super-block scales d (and dmin): nearest, clamped.
template <class Block>
void quantize_sub_scales(const double* a, const double* mins, float d, float dmin, int* sc, int* m) noexcept {
    using traits = arch::ref::kquant<Block>;
    const float id = arch::ref::inverse_or_zero(d), idmin = arch::ref::inverse_or_zero(dmin);
    for (int s = 0; s < arch::ref::sub_blocks<Block>; ++s) {
        sc[s] = arch::ref::nearest_clamped(static_cast<float>(a[s]) * id, traits::scale_lo, traits::scale_hi);
        m[s] = traits::has_min ? arch::ref::nearest_clamped(static_cast<float>(mins[s]) * idmin, 0, traits::min_hi) : 0;
    }
}

/// Least-squares factor c minimizing sum_s v_s (target_s - c l_s)^2 (0 if every l_s is 0).
template <int N>
double refit_factor(const double* target, const int* l, const double* v) noexcept {
    double num = 0.0, den = 0.0;
    for (int s = 0; s < N; ++s) {
        num += v[s] * target[s] * l[s];
        den += v[s] * static_cast<double>(l[s]) * l[s];
    }
    return den > 0.0 ? num / den : 0.0;
}

/// A K block's unpacked fields: fp16-representable super-block scales, integer sub-block scales, codes.
template <class Block>
struct kfields {
    float d = 0.0f, dmin = 0.0f;
    int sc[arch::ref::sub_blocks<Block>] = {}, m[arch::ref::sub_blocks<Block>] = {};
    std::uint8_t u[qk_k] = {};
};

/// Fills f.u with the nearest codes under f's scales and returns the weighted error of the dequantized values.
template <class Block>
double round_and_measure(const float* x, const float* w, kfields<Block>& f) noexcept {
    arch::ref::nearest_codes<Block>(x, f.d, f.dmin, f.sc, f.m, f.u);
    float y[qk_k];
    arch::ref::dequantize_codes<Block>(f.d, f.dmin, f.sc, f.m, f.u, y);
    double e = 0.0;
    for (std::size_t i = 0; i < qk_k; ++i) {
        const double diff = static_cast<double>(x[i]) - y[i];
        e += w[i] * diff * diff;
    }
    return e;
}

/// Weighted squared error of iq4_xs sub-block values x (32, weights w) with every code the nearest under dl.
inline double iq4_xs_sub_error(const float* x, const float* w, float dl) noexcept {
    const float id = arch::ref::inverse_or_zero(dl);
    double e = 0.0;
    for (int j = 0; j < 32; ++j) {
        const double diff = x[j] - dl * static_cast<float>(iq4_nl::values[arch::ref::nearest_ascending(iq4_nl::values, x[j] * id)]);
        e += w[j] * diff * diff;
    }
    return e;
}

/// iq4_xs: each sub-block's scale searched as iq4_nl's (search_nonlinear_block, on a one-block iq4_nl view of
/// it); then fp16 super-block scales d from the largest fitted scale / (-32 + t), t = 0..3, and d refitted by least
/// squares over the sub-blocks (weighted by sum w v^2), each sub-block taking the best of the three integer
/// scales nearest its fitted one (the error separates over sub-blocks once d is fixed). The block with the least
/// error (round_to_nearest's included) is kept.
inline void search_iq4_xs_block(const float* x, const float* w, iq4_xs::block& y) {
    arch::quantize_blocks(x, &y, 1, arch::scalar{});
    double best_err = block_error(x, w, y);
    double a[8], va[8];
    for (int s = 0; s < 8; ++s) {
        iq4_nl::block sub;
        search_nonlinear_block(x + 32 * s, w + 32 * s, sub);
        a[s] = load_half(sub.d);
        int code[32];
        arch::ref::unpack_codes(sub.qs, nullptr, code);
        va[s] = 0.0;
        for (int j = 0; j < 32; ++j) va[s] += w[32 * s + j] * double(iq4_nl::values[code[j]]) * iq4_nl::values[code[j]];
    }
    double amax = 0.0;
    for (double v : a) amax = std::fabs(v) > std::fabs(amax) ? v : amax;
    if (amax == 0.0) return;
    const auto try_d = [&](double d, int (&l)[8]) {
        const float dh = to_stored_half(d);
        const float id = arch::ref::inverse_or_zero(dh);
        for (int s = 0; s < 8; ++s) {
            const int l0 = arch::ref::nearest_clamped(static_cast<float>(a[s]) * id, -32, 31);
            double least = -1.0;
            for (int c = std::max(-32, l0 - 1); c <= std::min(31, l0 + 1); ++c) {
                const double e = iq4_xs_sub_error(x + 32 * s, w + 32 * s, dh * static_cast<float>(c));
                if (least < 0.0 || e < least) least = e, l[s] = c;
            }
        }
        iq4_xs::block candidate;
        arch::ref::assemble_iq4_xs(x, dh, l, candidate);
        keep_better(x, w, candidate, y, best_err);
    };
    int l[8];
    for (int t = 0; t < 4; ++t) {
        try_d(amax / (-32.0 + t), l);
        const double refit = refit_factor<8>(a, l, va);
        if (refit != 0.0 && std::isfinite(refit)) try_d(refit, l);
    }
}

template <class Block>
void search_k_block(const float* x, const float* w, Block& y) {
    using traits = arch::ref::kquant<Block>;
    constexpr int nsub = arch::ref::sub_blocks<Block>, sub = traits::sub, qmax = (1 << traits::bits) - 1;
    arch::quantize_blocks(x, &y, 1, arch::scalar{});
    const double rtn_err = block_error(x, w, y);

    // Fitted sub-block scales a_s and mins (-offset, >= 0), and the weights of their errors.
    double a[nsub], mins[nsub], va[nsub], vm[nsub];
    for (int s = 0; s < nsub; ++s) {
        const float *xs = x + s * sub, *ws = w + s * sub;
        const fit f = traits::has_min ? fit_affine(xs, ws, sub, qmax, true)
                                      : fit_symmetric(xs, ws, sub, -traits::zero, qmax - traits::zero);
        a[s] = f.scale;
        mins[s] = -f.offset;
        va[s] = f.sum_wqq;
        vm[s] = 0.0;
        for (int j = 0; j < sub; ++j) vm[s] += ws[j];
    }
    // A: d from the largest sub-scale; B: d refitted to A's integer scales.
    double amax = 0.0, mmax = 0.0;
    for (int s = 0; s < nsub; ++s) {
        if (std::fabs(a[s]) > std::fabs(amax)) amax = a[s];
        mmax = mins[s] > mmax ? mins[s] : mmax;
    }
    kfields<Block> v[2];
    double err[2];
    for (int k = 0; k < 2; ++k) {
        double d = traits::has_min ? amax / traits::scale_hi : amax / traits::scale_lo;
        double dmin = traits::has_min ? mmax / traits::min_hi : 0.0;
        if (k == 1) {
            d = refit_factor<nsub>(a, v[0].sc, va);
            dmin = traits::has_min ? refit_factor<nsub>(mins, v[0].m, vm) : 0.0;
        }
        v[k].d = to_stored_half(d);
        v[k].dmin = to_stored_half(dmin);
        quantize_sub_scales<Block>(a, mins, v[k].d, v[k].dmin, v[k].sc, v[k].m);
        err[k] = round_and_measure(x, w, v[k]);
    }
    // C: d and dmin refitted over all weights, the better variant's codes and integer scales fixed:
    // y_i = d p_i - dmin r_i with p_i = sc_s (u_i - Z), r_i = m_s, by the 2x2 normal equations.
    const int better = err[1] < err[0] ? 1 : 0;
    kfields<Block> c = v[better];
    double pp = 0, pr = 0, rr = 0, xp = 0, xr = 0;
    for (int i = 0; i < static_cast<int>(qk_k); ++i) {
        const int s = i / sub;
        const double p = static_cast<double>(c.sc[s]) * (c.u[i] - traits::zero), r = c.m[s];
        pp += w[i] * p * p;
        pr += w[i] * p * r;
        rr += w[i] * r * r;
        xp += w[i] * x[i] * p;
        xr += w[i] * x[i] * r;
    }
    const double det = pp * rr - pr * pr;
    if (traits::has_min && det > 0.0) {
        c.d = to_stored_half((rr * xp - pr * xr) / det);
        c.dmin = to_stored_half((pr * xp - pp * xr) / det);
    } else if (pp > 0.0) {
        c.d = to_stored_half((xp + c.dmin * pr) / pp);
    }
    const double c_err = round_and_measure(x, w, c);
    const kfields<Block>& best = c_err < err[better] ? c : v[better];
    if (std::fmin(c_err, err[better]) < rtn_err)
        arch::ref::assemble_kblock(best.d, best.dmin, best.sc, best.m, best.u, y);
}

}  // namespace detail::search

/// True for the formats `quant_method::search` supports: every weight format (not the activation formats q8_1
/// and q8_K).
template <class Fmt>
constexpr bool has_search =
    arch::ref::kquant<typename Fmt::block>::value || arch::ref::nibble_format<typename Fmt::block>::value ||
    arch::ref::nonlinear_format<typename Fmt::block>::value || std::is_same<Fmt, iq4_xs>::value ||
    arch::ref::ternary_format<typename Fmt::block>::value || arch::ref::lattice_format<typename Fmt::block>::value ||
    arch::ref::trellis_format<typename Fmt::block>::value || std::is_same<Fmt, q8_0>::value;

namespace detail {

/// quant_method::search on nblocks blocks: x holds nblocks * block_size floats, importance the same number
/// (or nullptr for all 1). Unchecked (quantize_row checks).
template <class Block>
void search_quantize_blocks(const float* x, const float* importance, Block* y, std::size_t nblocks) {
    static_assert(has_search<typename Block::format>, "quant_method::search supports weight formats only");
    constexpr std::size_t n = Block::format::block_size;
    if constexpr (arch::ref::trellis_format<Block>::value) {
        arch::quantize_blocks(x, y, nblocks, arch::scalar{});
        if (!importance) return;
        arch::ref::trellis_search<typename Block::format> search;
        for (std::size_t b = 0; b < nblocks; ++b) search::search_trellis_block(search, x + b * n, importance + b * n, y[b]);
    } else {
        float ones[n];
        for (auto& v : ones) v = 1.0f;
        for (std::size_t b = 0; b < nblocks; ++b) {
            const float* w = importance ? importance + b * n : ones;
            if constexpr (arch::ref::kquant<Block>::value) search::search_k_block(x + b * n, w, y[b]);
            else if constexpr (arch::ref::nonlinear_format<Block>::value) search::search_nonlinear_block(x + b * n, w, y[b]);
            else if constexpr (std::is_same<Block, iq4_xs::block>::value) search::search_iq4_xs_block(x + b * n, w, y[b]);
            else if constexpr (arch::ref::ternary_format<Block>::value) search::search_ternary_block(x + b * n, w, y[b]);
            else if constexpr (arch::ref::lattice_format<Block>::value) search::search_lattice_block(x + b * n, w, y[b]);
            else search::search_legacy_block(x + b * n, w, y[b]);
        }
    }
}

/// A weight format, type-erased, for the calibration-aware methods: quantize n values of a row (whole blocks)
/// with round_to_nearest or search (importance may be null), and dequantize them.
struct block_codec {
    const char* name;
    std::size_t block_size, block_bytes;
    void (*quantize)(const float* x, std::size_t n, void* y, quant_method method, const float* importance);
    void (*dequantize)(const void* y, std::size_t n, float* x);
};

/// The methods seqmse and gptq, implemented by lowbit::calibration_stats (calibration.hpp, which needs Eigen);
/// declared here so that quantize_row and quantize need neither.
class calibrated_method {
public:
    /// The row length the statistics are of.
    virtual std::size_t cols() const noexcept = 0;
    /// Quantizes `rows` checked rows of cols() finite floats (x, x_stride floats apart) into y (y_stride bytes
    /// apart) with options.method, seqmse or gptq.
    virtual void quantize_rows(const float* x, std::size_t rows, std::size_t x_stride, unsigned char* y,
                               std::size_t y_stride, const block_codec& codec, const quant_options& options) const = 0;

protected:
    ~calibrated_method() = default;
};

}  // namespace detail
LOWBIT_NAMESPACE_END
