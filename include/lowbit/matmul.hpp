#pragma once
/// \file matmul.hpp
/// Products of quantized weights with float activations: gemv (one activation vector, e.g. one token) and
/// gemm (a batch of activation rows, e.g. a prompt). Include the kernels of the weight formats you use
/// (<lowbit/q4.hpp>, ... or <lowbit/lowbit.hpp>) as well as this header.
///
/// Arithmetic. W is rows x K in a weight format Fmt. Activations are quantized to Fmt::activation (q8_0 or
/// q8_1), as GGUF runtimes do, and each output is the dot product of a weight row with a quantized activation
/// row: exact integer sums per block, scaled and summed in float. The error against the float
/// product of the dequantized weights is dominated by the activation rounding (see tests/test_matmul.cpp).
///
/// Results do not depend on the executor or its thread count: the rows of W are split into contiguous
/// ranges, and each output is computed by the same operations whatever the split (bit-identical); nor on the
/// batch (a GEMV is bit for bit the same row of a GEMM), nor on the layout (plain or packed.hpp's). Backends
/// with a micro-kernel for a 32-value format (arch/x86/gemm.hpp: q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, mxfp4) may
/// differ from the generic one-dot_blocks-per-output path by float summation order only (within the dot tolerance
/// of api.hpp); the K formats' kernels compute what dot_blocks does, bit for bit.
///
/// Weights: a plain qmatrix_view (GGUF's row-major blocks, e.g. memory-mapped from a file), or for the fastest
/// kernels a matrix repacked once by lowbit::pack / packed_matrix (packed.hpp; q8_0, q4_0 ... q5_1, q2_K ... q6_K).
/// From a batch of arch::packing_batch<Fmt>() rows (64; 32 for the K formats), plain weights are packed panel by
/// panel on the fly (core/matmul.hpp).
///
/// Shapes are checked and raise lowbit::error; y must not overlap x, W or the bias.
#include "api.hpp"
#include "kernels.hpp"
#include "packed.hpp"
#include "thread_pool.hpp"

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

LOWBIT_NAMESPACE_BEGIN

struct matmul_options {
    /// nullptr, or rows(W) floats added to every output row: y = W x + bias.
    const float* bias = nullptr;
    /// y += W x (+ bias) instead of y = W x (+ bias).
    bool accumulate = false;
};

namespace detail {

template <class E, class = void>
struct has_size : std::false_type {};
template <class E>
struct has_size<E, std::void_t<decltype(std::declval<const E&>().size())>> : std::true_type {};

/// Threads behind an executor; an executor without size() is assumed to have many (the tasks are then
/// only bounded by the work).
template <class E>
std::size_t executor_threads(const E& exec) {
    if constexpr (has_size<E>::value) return static_cast<std::size_t>(exec.size());
    else return 64;
}

/// Calls fn(r0, r1) for contiguous row ranges covering [0, rows): one range per task. Ranges are multiples
/// of 16 rows (so the SIMD row tiles, 4 to 16 rows, stay whole), at least min_task_bytes of weights each (so that small
/// products do not pay for synchronization), and about 4 per thread (for balance).
template <class Executor, class Fn>
void for_row_ranges(Executor& exec, std::size_t rows, std::size_t bytes_per_row, Fn fn) {
    constexpr std::size_t granule = 16, min_task_bytes = std::size_t(1) << 16;
    if (rows == 0) return;
    const std::size_t by_work = std::max<std::size_t>(1, rows * bytes_per_row / min_task_bytes);
    const std::size_t threads = executor_threads(exec);
    const std::size_t ntasks = std::min({by_work, threads <= 1 ? 1 : 4 * threads, (rows + granule - 1) / granule});
    const std::size_t chunk = ((rows + ntasks - 1) / ntasks + granule - 1) / granule * granule;
    exec((rows + chunk - 1) / chunk, [&](std::size_t t) { fn(t * chunk, std::min(rows, (t + 1) * chunk)); });
}

/// What gemv / gemm accept as weights: plain views (const or not), packed views and packed matrices; `view` is
/// the type the kernels take.
template <class W>
struct weights_traits {};
template <class Fmt, class Block>
struct weights_traits<qmatrix_view<Fmt, Block>> {
    using format = Fmt;
    using view = const_qmatrix_view<Fmt>;
};
template <class Fmt>
struct weights_traits<const_packed_view<Fmt>> {
    using format = Fmt;
    using view = const_packed_view<Fmt>;
};
template <class Fmt>
struct weights_traits<packed_matrix<Fmt>> : weights_traits<const_packed_view<Fmt>> {};

template <class W>
using weight_format_t = typename weights_traits<W>::format;
template <class W>
using weight_view_t = typename weights_traits<W>::view;

/// True when Backend computes each gemm / gemv output for Fmt exactly as its dot_blocks does (panels that are
/// dot_panels: the generic one and NEON's; and the K formats' kernels); false when a micro-kernel sums the blocks by
/// the per-pair FMA sequence of arch/x86/gemm.hpp, which differs from dot_blocks by summation order only.
template <class Fmt, class Backend>
constexpr bool gemm_matches_dot() {
    return std::is_base_of<arch::dot_panel<typename Fmt::activation>, arch::panel_t<Fmt, Backend>>::value ||
           std::is_same<typename Fmt::activation, q8_K>::value;
}

/// gemv / gemm on the backend chosen at run time: the views and the executor cross to the chosen backend's kernel
/// table (core/dispatch_abi.hpp) as plain structs, and that backend's run_matmul runs the product.
template <class WView, class Executor>
void run_dispatched_matmul(const WView& w, const_qmatrix_view<typename WView::format::activation> xq,
                           const arch::matmul_output& out, Executor& exec) {
    using Fmt = typename WView::format;
    const abi::executor ex{const_cast<void*>(static_cast<const void*>(&exec)), executor_threads(exec),
                           [](void* self, std::size_t ntasks, void* ctx, void (*task)(void*, std::size_t)) {
                               (*static_cast<Executor*>(self))(ntasks, [=](std::size_t t) { task(ctx, t); });
                           }};
    const abi::qmatrix x{xq.bytes(), xq.rows(), xq.cols(), xq.row_stride_bytes()};
    const abi::output o{out.y, out.stride, out.bias, out.accumulate};
    const abi::format_kernels& k = dispatched_kernels<Fmt>();
    if constexpr (std::is_same<WView, const_packed_view<Fmt>>::value)
        k.gemm_packed(abi::packed{w.bytes(), w.rows(), w.cols()}, x, o, ex);
    else
        k.gemm(abi::qmatrix{w.bytes(), w.rows(), w.cols(), w.row_stride_bytes()}, x, o, ex);
}

template <class WView, class Executor, class Backend>
void run_matmul(const WView& w, const_qmatrix_view<typename WView::format::activation> xq,
                const arch::matmul_output& out, Executor& exec) {
    using Fmt = typename WView::format;
    check_backend<Backend>();
    if constexpr (std::is_same<Backend, arch::dispatched>::value) {
        run_dispatched_matmul(w, xq, out, exec);
    } else {
        const auto panel = make_panel(static_cast<const typename Fmt::block*>(nullptr), xq, Backend{});
        // Weight bytes per row times the batch: the work a row carries.
        const std::size_t bytes_per_row =
            const_qmatrix_view<Fmt>::row_bytes(w.cols()) * std::max<std::size_t>(1, xq.rows());
        // Plain weights at a large batch: packed panel by panel on the fly (core/matmul.hpp).
        constexpr bool can_pack =
            std::is_same<WView, const_qmatrix_view<Fmt>>::value && arch::packs_on_the_fly<Fmt, Backend>();
        const bool packing = can_pack && xq.rows() >= arch::packing_batch<Fmt>();
        for_row_ranges(exec, w.rows(), bytes_per_row, [&](std::size_t r0, std::size_t r1) {
            if constexpr (can_pack)
                if (packing) return arch::gemm_rows_packing(w, r0, r1, panel, out, Backend{});
            gemm_rows(w, r0, r1, panel, out, Backend{});
        });
    }
}

template <class M>
std::string shape(const M& m) {
    return std::to_string(m.rows()) + "x" + std::to_string(m.cols());
}

template <class WView, class XView, class T>
void check_gemm_shapes(const WView& w, const XView& x, const matrix_view<T>& y) {
    using Fmt = typename WView::format;
    if (x.cols() != w.cols() || y.rows() != x.rows() || y.cols() != w.rows())
        raise(std::string("gemm(") + Fmt::name() + "): W is " + shape(w) + ", X is " + shape(x) + " and Y is " +
              shape(y) + "; needs X batch x " + std::to_string(w.cols()) + " and Y batch x " +
              std::to_string(w.rows()));
}

template <class WView>
void check_gemv_pointers(const WView& w, bool x_set, bool y_set) {
    if ((w.cols() != 0 && !x_set) || (w.rows() != 0 && !y_set))
        raise(std::string("gemv(") + WView::format::name() + "): null x or y for W of " + shape(w));
}

}  // namespace detail

// W (weights) in every function below: a qmatrix_view of a weight format (plain rows), or a const_packed_view /
// packed_matrix from lowbit::pack (packed.hpp). Both give bit-identical results on a given backend.

/// y = W xq (+ bias), or y += ... with opt.accumulate. xq: cols(W) / block_size blocks of Fmt::activation (e.g. from
/// quantize_row, reused for several weight matrices); y: rows(W) floats.
template <class Weights, class Executor = serial_executor, class Backend = default_backend,
          class Fmt = detail::weight_format_t<Weights>>
void gemv(const Weights& weights, const typename Fmt::activation::block* xq, float* y, const matmul_options& opt = {},
          Executor&& exec = {}, Backend = {}) {
    const detail::weight_view_t<Weights> w(weights);
    detail::check_gemv_pointers(w, xq != nullptr, y != nullptr);
    const const_qmatrix_view<typename Fmt::activation> xv(xq, 1, w.cols());
    detail::run_matmul<detail::weight_view_t<Weights>, std::remove_reference_t<Executor>, Backend>(
        w, xv, arch::matmul_output{y, w.rows(), opt.bias, opt.accumulate}, exec);
}

/// y = W x (+ bias): x (cols(W) floats) is quantized to Fmt::activation first (raises on NaN or Inf, as
/// quantize_row); y: rows(W) floats.
template <class Weights, class Executor = serial_executor, class Backend = default_backend,
          class Fmt = detail::weight_format_t<Weights>>
void gemv(const Weights& weights, const float* x, float* y, const matmul_options& opt = {}, Executor&& exec = {},
          Backend backend = {}) {
    const detail::weight_view_t<Weights> w(weights);
    detail::check_gemv_pointers(w, x != nullptr, y != nullptr);
    std::vector<typename Fmt::activation::block> xq(w.blocks_per_row());
    quantize_row(x, w.cols(), xq.data(), backend);
    gemv(w, xq.data(), y, opt, std::forward<Executor>(exec), backend);
}

/// Y = Xq W^T (+ bias on every row), or Y += ...: Xq is batch x cols(W) in Fmt::activation, Y batch x rows(W).
template <class Weights, class Executor = serial_executor, class Backend = default_backend,
          class Fmt = detail::weight_format_t<Weights>>
void gemm(const Weights& weights, const_qmatrix_view<typename Fmt::activation> xq, matrix_view<float> y,
          const matmul_options& opt = {}, Executor&& exec = {}, Backend = {}) {
    const detail::weight_view_t<Weights> w(weights);
    detail::check_gemm_shapes(w, xq, y);
    if (xq.rows() == 0) return;
    detail::run_matmul<detail::weight_view_t<Weights>, std::remove_reference_t<Executor>, Backend>(
        w, xq, arch::matmul_output{y.data(), y.row_stride(), opt.bias, opt.accumulate}, exec);
}

/// Y = X W^T (+ bias): each row of X (batch x cols(W) floats) is quantized to Fmt::activation first.
template <class Weights, class Executor = serial_executor, class Backend = default_backend,
          class Fmt = detail::weight_format_t<Weights>>
void gemm(const Weights& weights, matrix_view<const float> x, matrix_view<float> y, const matmul_options& opt = {},
          Executor&& exec = {}, Backend backend = {}) {
    const detail::weight_view_t<Weights> w(weights);
    detail::check_gemm_shapes(w, x, y);
    using ablock = typename Fmt::activation::block;
    std::vector<ablock> xq(x.rows() * w.blocks_per_row());
    const qmatrix_view<typename Fmt::activation> xv(xq.data(), x.rows(), x.cols());
    quantize(x, xv, backend);
    gemm(w, const_qmatrix_view<typename Fmt::activation>(xv), y, opt, std::forward<Executor>(exec), backend);
}

LOWBIT_NAMESPACE_END
