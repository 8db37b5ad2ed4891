#pragma once
/// \file calibration.hpp
/// Calibration-aware quantization: the statistics of a layer's input activations, and the two methods that use
/// them to minimize the error of the layer's output X W^T instead of the error of W. Needs Eigen 3.3 or later (the
/// CMake target lowbit::calibration brings it); not included by lowbit.hpp.
///
///   lowbit::calibration_stats stats(cols);
///   stats.add(activations);                        // tokens x cols floats, in as many chunks as wanted
///   lowbit::quant_options o;
///   o.method = lowbit::quant_method::gptq;          // or seqmse
///   o.calibration = &stats;
///   lowbit::quantize(W, Wq, o);                     // rows x cols floats -> blocks of any weight format
///
/// The statistics are H = sum over tokens x of x x^T (cols x cols, in double). A weight row's error e = w - w_hat
/// changes that row's outputs by X e^T, of squared norm e H e^T: the loss both methods lower.
///
/// seqmse (sequential MSE): the blocks of each row are chosen in order, each one minimizing the output error given
///   the errors already made in the row's earlier blocks: for block b with error e_b and the earlier errors e_<b,
///   the loss is e_b H_bb e_b^T + 2 e_b H_b,<b e_<b^T. Candidates: `search` of the block's values, and `search`
///   of the values shifted to the loss's optimum, x_b + (H_bb^-1 H_b,<b e_<b^T)^T (both weighted by diag H_bb), and
///   round to nearest; the one of least loss is kept. No value is changed before it is quantized.
/// gptq (Frantar et al. 2022, with the format's blocks quantized whole): with U the upper Cholesky factor of
///   (H + damping * mean(diag H) * I)^-1, the blocks are quantized in order (act_order: by decreasing trace of
///   H_bb), each by `search` of the current, error-updated values weighted by the diagonal of
///   (U_bb^T U_bb)^-1 (the block's own loss metric), and the block's error is pushed onto the columns not yet
///   quantized: W_rest -= (E_b U_bb^-1) U_b,rest. A block's scales are thus chosen from the updated weights when the
///   sweep reaches it. Updates of columns past a window of 256 are deferred and applied as one product (GPTQ's lazy
///   batches).
/// Both work on panels of 64 rows (shared out over options.pool; the results do not depend on it) and give the
/// format's ordinary blocks, which every kernel reads. Their cost is O(cols^3) once per statistics and method
/// (cached) plus O(rows cols^2) in matrix products.
#include "api.hpp"
#include "thread_pool.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

LOWBIT_NAMESPACE_BEGIN

/// H = sum of x x^T over the activation rows added: what seqmse and gptq need of a layer's inputs. Mergeable
/// (threads, files); not thread-safe while adding.
class calibration_stats final : public detail::calibrated_method {
public:
    using matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
    using matrix_f = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

    explicit calibration_stats(std::size_t cols) : m_cols(cols), m_h(matrix::Zero(cols_checked(cols), cols)) {}

    std::size_t cols() const noexcept override { return m_cols; }
    /// Activation rows added so far.
    std::uint64_t tokens() const noexcept { return m_tokens; }

    /// Adds x's rows (tokens x cols() floats, all finite).
    void add(matrix_view<const float> x) {
        if (x.cols() != m_cols)
            raise("calibration_stats::add: rows of " + std::to_string(x.cols()) + " values, statistics of " +
                  std::to_string(m_cols));
        for (std::size_t r = 0; r < x.rows(); ++r)
            for (std::size_t c = 0; c < m_cols; ++c)
                if (!std::isfinite(x(r, c)))
                    raise("calibration_stats::add: activation (" + std::to_string(r) + ", " + std::to_string(c) +
                          ") is " + std::to_string(x(r, c)) + "; activations must be finite");
        // Float products over chunks of 256 rows (fast, exact enough), summed in double.
        constexpr std::size_t chunk = 256;
        using rows_f = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        Eigen::MatrixXf g(m_cols, m_cols);
        for (std::size_t r0 = 0; r0 < x.rows(); r0 += chunk) {
            const std::size_t n = std::min(chunk, x.rows() - r0);
            const Eigen::Map<const rows_f, 0, Eigen::OuterStride<>> xs(x.row(r0), static_cast<Eigen::Index>(n),
                                                                         static_cast<Eigen::Index>(m_cols),
                                                                         Eigen::OuterStride<>(x.row_stride()));
            g.setZero();
            g.selfadjointView<Eigen::Lower>().rankUpdate(xs.transpose());
            m_h.triangularView<Eigen::Lower>() += g.cast<double>();
        }
        m_tokens += x.rows();
        invalidate();
    }

    /// Adds other's rows (statistics of the same columns).
    void merge(const calibration_stats& other) {
        if (other.m_cols != m_cols)
            raise("calibration_stats::merge: statistics of " + std::to_string(other.m_cols) + " and " +
                  std::to_string(m_cols) + " columns");
        m_h.triangularView<Eigen::Lower>() += other.m_h;
        m_tokens += other.m_tokens;
        invalidate();
    }

    /// H, symmetric, cols() x cols().
    matrix hessian() const { return m_h.selfadjointView<Eigen::Lower>(); }

    /// diag(H) / tokens: the mean squared activation of each column (llama.cpp's "imatrix"), an importance vector
    /// for quant_method::search. All zero before any row is added.
    std::vector<float> importance() const {
        std::vector<float> w(m_cols);
        for (std::size_t i = 0; i < m_cols; ++i)
            w[i] = m_tokens ? static_cast<float>(m_h(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(i)) /
                                                 static_cast<double>(m_tokens))
                            : 0.0f;
        return w;
    }

    /// What output_error() sums over the rows.
    struct output_sums {
        double error;   // sum of (w - w_hat) H (w - w_hat)^T
        double energy;  // sum of w H w^T: error / energy is the inverse of the output SNR
    };
    /// The output error of quantized rows, for rows x cols() floats w and w_hat.
    output_sums output_error(matrix_view<const float> w, matrix_view<const float> w_hat) const {
        if (w.cols() != m_cols || w_hat.cols() != m_cols || w.rows() != w_hat.rows())
            raise("calibration_stats::output_error: shapes do not match the statistics of " + std::to_string(m_cols) +
                  " columns");
        // Matrix products over panels of rows, in float (the two sums are compared in dB).
        const Eigen::MatrixXf h = hessian().cast<float>();
        constexpr std::size_t panel = 256;
        const auto n = static_cast<Eigen::Index>(m_cols);
        matrix_f a, e;
        double err = 0, energy = 0;
        for (std::size_t r0 = 0; r0 < w.rows(); r0 += panel) {
            const auto rows = static_cast<Eigen::Index>(std::min(panel, w.rows() - r0));
            a.resize(rows, n);
            e.resize(rows, n);
            for (Eigen::Index r = 0; r < rows; ++r)
                for (Eigen::Index c = 0; c < n; ++c) {
                    a(r, c) = w(r0 + static_cast<std::size_t>(r), static_cast<std::size_t>(c));
                    e(r, c) = a(r, c) - w_hat(r0 + static_cast<std::size_t>(r), static_cast<std::size_t>(c));
                }
            energy += (a * h).cwiseProduct(a).cast<double>().sum();
            err += (e * h).cwiseProduct(e).cast<double>().sum();
        }
        return {err, energy};
    }

    void quantize_rows(const float* x, std::size_t rows, std::size_t x_stride, unsigned char* y, std::size_t y_stride,
                       const detail::block_codec& codec, const quant_options& options) const override;

private:
    /// What a method needs of H for one block size (and damping, act-order), computed once.
    struct prepared {
        quant_method method;
        std::size_t block_size;
        float damping;
        bool act_order;
        std::vector<std::size_t> order;  // block indices in the order they are quantized
        matrix_f u;                      // gptq: U, columns in quantization order; seqmse: H (natural order)
        std::vector<matrix_f> block_inv;  // gptq: U_bb^-1; seqmse: H_bb^-1 (damped)
        std::vector<std::vector<float>> block_weight;  // search's importance for each block
    };

    static std::size_t cols_checked(std::size_t cols) {
        if (cols == 0) raise("calibration_stats: 0 columns");
        return cols;
    }
    void invalidate() {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_prepared.reset();
    }
    std::shared_ptr<const prepared> prepare(const detail::block_codec& codec, const quant_options& options) const;
    void gptq_panel(const prepared& p, const float* x, std::size_t rows, std::size_t x_stride, unsigned char* y,
                    std::size_t y_stride, const detail::block_codec& codec) const;
    void seqmse_panel(const prepared& p, const float* x, std::size_t rows, std::size_t x_stride, unsigned char* y,
                      std::size_t y_stride, const detail::block_codec& codec) const;

    std::size_t m_cols;
    std::uint64_t m_tokens = 0;
    matrix m_h;  // lower triangle
    mutable std::mutex m_mutex;
    mutable std::shared_ptr<const prepared> m_prepared;
};

inline std::shared_ptr<const calibration_stats::prepared> calibration_stats::prepare(const detail::block_codec& codec,
                                                                                     const quant_options& options) const {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto& p = m_prepared;
        if (p && p->method == options.method && p->block_size == codec.block_size &&
            (options.method == quant_method::seqmse || (p->damping == options.damping && p->act_order == options.act_order)))
            return p;
    }
    const auto n = static_cast<Eigen::Index>(m_cols), s = static_cast<Eigen::Index>(codec.block_size);
    const std::size_t nblocks = m_cols / codec.block_size;
    auto p = std::make_shared<prepared>();
    p->method = options.method;
    p->block_size = codec.block_size;
    p->damping = options.damping;
    p->act_order = options.act_order && options.method == quant_method::gptq;
    p->order.resize(nblocks);
    std::iota(p->order.begin(), p->order.end(), std::size_t{0});

    // Columns no activation reaches have H_ii = 0: give them 1 (errors there cost nothing either way) so that H is
    // invertible, then damp the diagonal.
    matrix h = hessian();
    const double mean_diag = std::max(h.diagonal().mean(), 0.0);
    for (Eigen::Index i = 0; i < n; ++i)
        if (h(i, i) <= 0) h(i, i) = mean_diag > 0 ? mean_diag : 1.0;
    const double damp = static_cast<double>(options.damping) * (mean_diag > 0 ? mean_diag : 1.0);

    if (p->act_order) {
        std::vector<double> energy(nblocks);
        for (std::size_t b = 0; b < nblocks; ++b)
            energy[b] = h.diagonal().segment(static_cast<Eigen::Index>(b) * s, s).sum();
        std::stable_sort(p->order.begin(), p->order.end(), [&](std::size_t a, std::size_t b) { return energy[a] > energy[b]; });
        matrix permuted(n, n);
        for (std::size_t i = 0; i < nblocks; ++i)
            for (std::size_t j = 0; j < nblocks; ++j)
                permuted.block(static_cast<Eigen::Index>(i) * s, static_cast<Eigen::Index>(j) * s, s, s) =
                    h.block(static_cast<Eigen::Index>(p->order[i]) * s, static_cast<Eigen::Index>(p->order[j]) * s, s, s);
        h.swap(permuted);
    }

    if (options.method == quant_method::gptq) {
        // U upper with U^T U = (H + damp I)^-1, from the lower Cholesky factor L of the reversed matrix J H J:
        // U = J L^-1 J (half the work of inverting H and factoring the inverse).
        h.diagonal().array() += damp;
        Eigen::LLT<matrix> llt(h.reverse());
        if (llt.info() != Eigen::Success)
            raise("calibration_stats: the Hessian is not positive definite even with damping " +
                  std::to_string(options.damping) + "; raise quant_options::damping");
        matrix linv = matrix::Identity(n, n);
        llt.matrixL().solveInPlace(linv);
        p->u = linv.reverse().cast<float>();
        p->u.triangularView<Eigen::StrictlyLower>().setZero();
        for (std::size_t b = 0; b < nblocks; ++b) {
            const Eigen::Index b0 = static_cast<Eigen::Index>(b) * s;
            matrix_f inv = matrix_f::Identity(s, s);
            p->u.block(b0, b0, s, s).triangularView<Eigen::Upper>().solveInPlace(inv);
            // The block's loss is ||e U_bb^-1||^2: column j of e weighs the squared norm of row j of U_bb^-1.
            std::vector<float> w(codec.block_size);
            for (Eigen::Index j = 0; j < s; ++j) w[static_cast<std::size_t>(j)] = inv.row(j).squaredNorm();
            p->block_inv.push_back(std::move(inv));
            p->block_weight.push_back(std::move(w));
        }
    } else {
        p->u = h.cast<float>();
        for (std::size_t b = 0; b < nblocks; ++b) {
            const Eigen::Index b0 = static_cast<Eigen::Index>(b) * s;
            matrix hb = h.block(b0, b0, s, s);
            const double block_damp = std::max(1e-6 * hb.diagonal().mean(), 1e-30);
            hb.diagonal().array() += block_damp;
            p->block_inv.push_back(hb.llt().solve(matrix::Identity(s, s)).cast<float>());
            std::vector<float> w(codec.block_size);
            for (Eigen::Index j = 0; j < s; ++j) w[static_cast<std::size_t>(j)] = static_cast<float>(h(b0 + j, b0 + j));
            p->block_weight.push_back(std::move(w));
        }
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    m_prepared = p;
    return p;
}

inline void calibration_stats::gptq_panel(const prepared& p, const float* x, std::size_t rows, std::size_t x_stride,
                                          unsigned char* y, std::size_t y_stride, const detail::block_codec& codec) const {
    const std::size_t s = p.block_size, nblocks = p.order.size();
    const auto n = static_cast<Eigen::Index>(m_cols), es = static_cast<Eigen::Index>(s), er = static_cast<Eigen::Index>(rows);
    // The panel's values, columns in quantization order; updated as the sweep goes.
    matrix_f w(er, n);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t i = 0; i < nblocks; ++i)
            std::copy_n(x + r * x_stride + p.order[i] * s, s, &w(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(i * s)));
    const Eigen::Index window = std::max<Eigen::Index>(es, 256 / es * es);
    matrix_f err(er, window), q(er, es);
    std::vector<float> values(s);
    for (Eigen::Index w0 = 0; w0 < n; w0 += window) {
        const Eigen::Index w1 = std::min(n, w0 + window);
        for (Eigen::Index b0 = w0; b0 < w1; b0 += es) {
            const std::size_t i = static_cast<std::size_t>(b0) / s, block = p.order[i];
            for (Eigen::Index r = 0; r < er; ++r) {
                std::copy_n(&w(r, b0), s, values.data());
                unsigned char* out = y + static_cast<std::size_t>(r) * y_stride + block * codec.block_bytes;
                codec.quantize(values.data(), s, out, quant_method::search, p.block_weight[i].data());
                codec.dequantize(out, s, &q(r, 0));
            }
            auto e = err.middleCols(b0 - w0, es);
            e.noalias() = (w.middleCols(b0, es) - q) * p.block_inv[i];
            if (b0 + es < w1) w.middleCols(b0 + es, w1 - b0 - es).noalias() -= e * p.u.block(b0, b0 + es, es, w1 - b0 - es);
        }
        if (w1 < n)
            w.middleCols(w1, n - w1).noalias() -= err.leftCols(w1 - w0) * p.u.block(w0, w1, w1 - w0, n - w1);
    }
}

inline void calibration_stats::seqmse_panel(const prepared& p, const float* x, std::size_t rows, std::size_t x_stride,
                                            unsigned char* y, std::size_t y_stride, const detail::block_codec& codec) const {
    const std::size_t s = p.block_size, nblocks = p.order.size();
    const auto n = static_cast<Eigen::Index>(m_cols), es = static_cast<Eigen::Index>(s), er = static_cast<Eigen::Index>(rows);
    matrix_f w(er, n), e(er, n);  // the values, and the errors of the blocks done
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(x + r * x_stride, m_cols, &w(static_cast<Eigen::Index>(r), 0));
    matrix_f g(er, es), target(er, es), q(er, es), best_q(er, es);
    std::vector<double> best_loss(rows);
    std::vector<unsigned char> candidate(rows * codec.block_bytes);  // one block per row
    for (std::size_t b = 0; b < nblocks; ++b) {
        const Eigen::Index b0 = static_cast<Eigen::Index>(b) * es;
        const auto hbb = p.u.block(b0, b0, es, es);
        if (b0 > 0) g.noalias() = e.leftCols(b0) * p.u.block(0, b0, b0, es);
        else g.setZero();
        target.noalias() = w.middleCols(b0, es) + g * p.block_inv[b];
        std::fill(best_loss.begin(), best_loss.end(), HUGE_VAL);
        const struct {
            const matrix_f* values;
            quant_method method;
        } candidates[] = {{&w, quant_method::search}, {&target, quant_method::search}, {&w, quant_method::round_to_nearest}};
        for (const auto& c : candidates) {
            const bool shifted = c.values == &target;
            for (Eigen::Index r = 0; r < er; ++r) {
                unsigned char* block = candidate.data() + static_cast<std::size_t>(r) * codec.block_bytes;
                codec.quantize(shifted ? &target(r, 0) : &w(r, b0), s, block, c.method, p.block_weight[b].data());
                codec.dequantize(block, s, &q(r, 0));
            }
            const matrix_f d = w.middleCols(b0, es) - q;
            const Eigen::VectorXf loss = ((d * hbb).cwiseProduct(d) + 2.0f * d.cwiseProduct(g)).rowwise().sum();
            for (Eigen::Index r = 0; r < er; ++r) {
                if (!(loss(r) < best_loss[static_cast<std::size_t>(r)])) continue;
                best_loss[static_cast<std::size_t>(r)] = loss(r);
                best_q.row(r) = q.row(r);
                std::copy_n(candidate.data() + static_cast<std::size_t>(r) * codec.block_bytes, codec.block_bytes,
                            y + static_cast<std::size_t>(r) * y_stride + b * codec.block_bytes);
            }
        }
        e.middleCols(b0, es) = w.middleCols(b0, es) - best_q;
    }
}

inline void calibration_stats::quantize_rows(const float* x, std::size_t rows, std::size_t x_stride, unsigned char* y,
                                             std::size_t y_stride, const detail::block_codec& codec,
                                             const quant_options& options) const {
    if (rows == 0) return;
    const std::shared_ptr<const prepared> p = prepare(codec, options);
    constexpr std::size_t panel = 64;
    const std::size_t panels = (rows + panel - 1) / panel;
    const auto task = [&](std::size_t t) {
        const std::size_t r0 = t * panel, nr = std::min(panel, rows - r0);
        if (options.method == quant_method::gptq) gptq_panel(*p, x + r0 * x_stride, nr, x_stride, y + r0 * y_stride, y_stride, codec);
        else seqmse_panel(*p, x + r0 * x_stride, nr, x_stride, y + r0 * y_stride, y_stride, codec);
    };
    if (options.pool) (*options.pool)(panels, task);
    else serial_executor{}(panels, task);
}

LOWBIT_NAMESPACE_END
