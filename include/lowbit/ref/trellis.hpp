#pragma once
/// \file ref/trellis.hpp
/// Reference kernels of lowbit's trellis-coded formats tcq2 and tcq3 (format/tcq_common.hpp): dequantize, dot with
/// q8_K activations, and the quantizer, a Viterbi search of the block's bit stream.
///
/// The quantizer, per block of 256 values x_t (importance w_t, 1 without):
///   1. Search scale s = search_spread * tail * rms(x) / rms(values), tail = max |x| / (3.5 rms(x)) clamped to
///      [1, 3] (a heavy-tailed block is searched at a wider scale: +1 to +4 dB on Student-t(3) data, nothing lost on
///      Gaussian data, whose blocks have max |x| < 3.5 rms): x_t / s in table units, as fixed point
///      X_t = round(4 x_t / s) clamped to [-512, 512] (the table spans [-127, 127]: beyond it every code is the end
///      one anyway), and each weight w_t / max w as m_t / 2^s_t, m_t an integer in [2^11, 2^12], s_t <= 31 (0 below
///      2^-20; m = 2^11, s = 11 without importance): importance spanning decades keeps 11 bits for every weight.
///   2. Viterbi over the 2^L windows: the path cost is sum_t (m_t * (X_t - 4 values[index(window_t)])^2) >> s_t, an
///      exact integer (each term below 2^20, the sum below 2^28), so every backend finds the same path; ties go to
///      the lower window (a lower predecessor first). The stream is circular: a first search over the last and first
///      64 weights, with any start, fixes the window at the wrap; the full search then starts and ends consistent
///      with it.
///   3. The stream's bits are those of the path's windows; d is refitted by weighted least squares,
///      d = sum w x v / sum w v^2 (v the chosen table values), stored as fp16.
/// An all-zero block (rms 0, or so small that s is not a normal float) is stored as zero bits and d = 0. A constant
/// block comes back as a path of values around its level (about the SNR of Gaussian data: 14.5 dB for tcq2, 18.9 for
/// tcq3 in the tests); one outlier among near-zero values keeps its sign and 57% (tcq2) to 86% (tcq3) of its size,
/// the scale's least-squares compromise with the near-zero values the trellis cannot hold at zero.
/// Cost: 2^L windows per weight (and half again for the wrap), in loops the compiler vectorizes: about 10 ms per
/// 4096 values on one AVX2 core, 40 to 50 s per 4096 x 4096 matrix.
#include "../core/scratch.hpp"
#include "../format/tcq2.hpp"
#include "../format/tcq3.hpp"
#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace ref {

template <class Block>
struct trellis_format
    : std::integral_constant<bool,
                             std::is_same<Block, tcq2::block>::value || std::is_same<Block, tcq3::block>::value> {};

template <class Block>
using if_trellis_format = std::enable_if_t<trellis_format<Block>::value, int>;

/// The 256 table values of a block, in weight order.
template <class Block>
inline void trellis_values(const Block& b, int* v) noexcept {
    using format = typename Block::format;
    for (int t = 0; t < 256; ++t) v[t] = format::values[format::code::index(format::code::window(b.qs, t))];
}

/// The Viterbi search of a format's trellis (see the file comment), with its scratch memory.
template <class Format>
class trellis_search {
public:
    using code = typename Format::code;
    static constexpr int states = 1 << code::window_bits;
    /// Weights before and after the wrap that the first search sees.
    static constexpr int wrap_span = 64;

    trellis_search() : level_(states), cost_(states), best_(states), back_(256 * (states >> min_step_bits)) {
        for (int s = 0; s < states; ++s) level_[s] = static_cast<std::int16_t>(4 * Format::values[code::index(s)]);
    }

    /// Quantizes 256 values (importance w, or nullptr for all 1) into y.
    void quantize(const float* x, const float* w, typename Format::block& y) {
        std::memset(&y, 0, sizeof y);
        double sum_xx = 0.0, sum_vv = 0.0;
        for (int t = 0; t < 256; ++t) sum_xx += detail::rounded(static_cast<double>(x[t]) * x[t]);
        for (const std::int8_t v : Format::values) sum_vv += v * v;
        constexpr double table_size = sizeof Format::values;
        float amax = 0.0f;
        for (int t = 0; t < 256; ++t) amax = std::max(amax, std::fabs(x[t]));
        const double rms = std::sqrt(sum_xx / 256.0);
        const double tail = std::min(std::max(amax / (3.5 * rms), 1.0), 3.0);
        const float s = static_cast<float>(tail * Format::search_spread * rms / std::sqrt(sum_vv / table_size));
        if (!std::isnormal(s)) return;
        const float to_fixed = 4.0f / s;
        float w_max = 0.0f;
        if (w)
            for (int t = 0; t < 256; ++t) w_max = std::max(w_max, w[t]);
        for (int t = 0; t < 256; ++t) {
            const float v = std::min(std::max(x[t] * to_fixed, -512.0f), 512.0f);
            target_[t] = static_cast<std::int32_t>(std::nearbyint(v));
            shift_[t] = 11;
            weight_[t] = 2048;
            if (w_max > 0.0f) {
                int k = 0;
                const float f = std::frexp(w[t] / w_max, &k);  // w / max w = f 2^k, f in [0.5, 1), k <= 1
                shift_[t] = 11 + std::min(1 - k, 20);
                weight_[t] = k > -20 ? static_cast<std::uint32_t>(std::nearbyint(std::ldexp(f, 12))) : 0u;
            }
        }
        // The window at the wrap (weight 255's), from a search over weights 192..255, 0..63 with any start.
        int order[256];
        for (int i = 0; i < 2 * wrap_span; ++i) order[i] = (256 - wrap_span + i) % 256;
        const unsigned wrap = search(order, 2 * wrap_span, -1)[wrap_span - 1];
        for (int i = 0; i < 256; ++i) order[i] = i;
        const unsigned* window = search(order, 256, static_cast<int>(wrap));
        // Each weight's window ends in the bits it adds to the stream.
        for (int t = 0; t < 256; ++t) {
            const int k = code::step_bits(t), at = code::end(t) - k;
            const unsigned bits = window[t] >> (code::window_bits - k);
            for (int j = 0; j < k; ++j)
                y.qs[(at + j) / 8] |= static_cast<std::uint8_t>(((bits >> j) & 1u) << ((at + j) % 8));
        }
        double sum_wxv = 0.0, sum_wvv = 0.0;
        for (int t = 0; t < 256; ++t) {
            const double v = Format::values[code::index(window[t])], wt = w ? w[t] : 1.0f;
            sum_wxv += detail::rounded(detail::rounded(wt * x[t]) * v);
            sum_wvv += detail::rounded(wt * v * v);
        }
        store_half(y.d, sum_wvv > 0.0 ? static_cast<float>(sum_wxv / sum_wvv) : 0.0f);
    }

private:
    static constexpr int min_step_bits = code::step_bits(0);
    static constexpr std::uint32_t unreachable = 1u << 30;

    std::uint32_t step_cost(int t, int s) const noexcept {
        const std::int32_t d = target_[t] - level_[s];
        return (weight_[t] * static_cast<std::uint32_t>(d * d)) >> shift_[t];
    }

    /// One step of the search: weight t adds K bits, and window s follows windows (s mod groups) * 2^K + u, u < 2^K.
    /// (Written for GCC's vectorizer at -O2, the kernel tables' level: no aliasing, the 2^K candidates unrolled.)
    template <int K>
    void step(int t, std::uint8_t* back) {
        predecessors<K>(cost_.data(), best_.data(), back, std::make_integer_sequence<int, (1 << K)>{});
        for (int high = 0; high < (1 << K); ++high)
            add_costs(cost_.data() + high * (states >> K), best_.data(), level_.data() + high * (states >> K),
                      states >> K, target_[t], weight_[t], shift_[t]);
    }

    /// best[p] and back[p]: the least cost among cost[p * 2^K + u] and the first u that has it.
    template <int K, int... U>
    static void predecessors(const std::uint32_t* __restrict cost, std::uint32_t* __restrict best,
                             std::uint8_t* __restrict back, std::integer_sequence<int, U...>) noexcept {
        for (int p = 0; p < (states >> K); ++p) {
            std::uint32_t m = cost[p << K], mu = 0;
            ((mu = cost[(p << K) + U] < m ? static_cast<std::uint32_t>(U) : mu,
              m = cost[(p << K) + U] < m ? cost[(p << K) + U] : m),
             ...);
            best[p] = m;
            back[p] = static_cast<std::uint8_t>(mu);
        }
    }

    /// to[p] = best[p] + the cost of level[p] at this weight.
    static void add_costs(std::uint32_t* __restrict to, const std::uint32_t* __restrict best,
                          const std::int16_t* __restrict level, int n, std::int32_t target, std::uint32_t weight,
                          int shift) noexcept {
        for (int p = 0; p < n; ++p) {
            const std::int32_t d = target - level[p];
            to[p] = best[p] + ((weight * static_cast<std::uint32_t>(d * d)) >> shift);
        }
    }

    /// The least-cost windows of the weights order[0 .. n-1]; wrap >= 0 asks for a path whose first window follows
    /// the window `wrap` and whose last window is followed by the first (the tail-biting constraint).
    const unsigned* search(const int* order, int n, int wrap) {
        std::uint32_t* cost = cost_.data();
        const int k0 = code::step_bits(order[0]);
        const unsigned carried_mask = (1u << (code::window_bits - k0)) - 1u;
        for (int s = 0; s < states; ++s) {
            const bool allowed =
                wrap < 0 || (static_cast<unsigned>(s) & carried_mask) == (static_cast<unsigned>(wrap) >> k0);
            cost[s] = allowed ? step_cost(order[0], s) : unreachable;
        }
        for (int i = 1; i < n; ++i) {
            std::uint8_t* back = back_.data() + static_cast<std::size_t>(i) * (states >> min_step_bits);
            if (code::step_bits(order[i]) == min_step_bits) step<min_step_bits>(order[i], back);
            else step<min_step_bits + 1>(order[i], back);
        }
        int last = -1;
        for (int s = 0; s < states; ++s) {
            const bool allowed = wrap < 0 || (s >> k0) == (wrap >> k0);
            if (allowed && (last < 0 || cost[s] < cost[last])) last = s;
        }
        window_[n - 1] = static_cast<unsigned>(last);
        for (int i = n - 1; i > 0; --i) {
            const int k = code::step_bits(order[i]), groups = states >> k;
            const unsigned p = window_[i] & static_cast<unsigned>(groups - 1);
            const std::uint8_t* back = back_.data() + static_cast<std::size_t>(i) * (states >> min_step_bits);
            window_[i - 1] = (p << k) | back[p];
        }
        return window_;
    }

    detail::scratch<std::int16_t> level_;  // 4 * the table value of each window
    detail::scratch<std::uint32_t> cost_, best_;
    detail::scratch<std::uint8_t> back_;  // per step, the chosen predecessor of each group
    std::int32_t target_[256];
    std::uint32_t weight_[256];
    int shift_[256];
    unsigned window_[256];
};

}  // namespace ref

/// The Viterbi quantizer of the file comment, without importance.
template <class Block, ref::if_trellis_format<Block> = 0>
inline void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const scalar&) {
    ref::trellis_search<typename Block::format> search;
    for (std::size_t b = 0; b < nblocks; ++b) search.quantize(x + b * qk_k, nullptr, y[b]);
}

/// x_t = d * values[index(window_t)].
template <class Block, ref::if_trellis_format<Block> = 0>
inline void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const scalar&) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, y += qk_k) {
        const float d = load_half(x[b].d);
        int v[256];
        ref::trellis_values(x[b], v);
        for (int t = 0; t < 256; ++t) y[t] = d * static_cast<float>(v[t]);
    }
}

/// With q8_K activations: sum over blocks, in order, of isum * (d_w * d_a), isum = the int sum of value * q_a.
template <class Block, ref::if_trellis_format<Block> = 0>
inline float dot_blocks(const Block* w, const q8_K::block* a, std::size_t nblocks, const scalar&) noexcept {
    float sum = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        int v[256];
        ref::trellis_values(w[b], v);
        int isum = 0;
        for (int t = 0; t < 256; ++t) isum += v[t] * a[b].qs[t];
        sum += detail::rounded(static_cast<float>(isum) * (load_half(w[b].d) * a[b].d.value()));
    }
    return sum;
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
