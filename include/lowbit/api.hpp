#pragma once
/// \file api.hpp
/// The public, checked entry points: quantize, dequantize and dot, on rows and on matrix views, for every
/// format whose kernels are included (include a per-bit header such as <lowbit/q4.hpp>, not this file).
///
/// Every function takes the backend as a defaulted last argument (default_backend, the best one the compiler
/// flags enable); pass a tag such as lowbit::scalar{} to force one. Results:
///   - quantized bytes and dequantized floats are identical on every backend;
///   - dot products equal the scalar reference up to float summation order (see dot()).
#include "core/backends.hpp"
#include "error.hpp"
#include "quantizers.hpp"
#include "view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

LOWBIT_NAMESPACE_BEGIN

namespace detail {

/// Where a check failed, turned into the message prefix only when it fails: "quantize_row(q4_0)", or
/// "quantize(q4_0): row 3" for a matrix.
struct call_site {
    const char* function;
    const char* format;
    std::size_t row = static_cast<std::size_t>(-1);

    std::string str() const {
        std::string s = std::string(function) + "(" + format + ")";
        if (row != static_cast<std::size_t>(-1)) s += ": row " + std::to_string(row);
        return s;
    }
};

template <class Fmt>
void check_row(const call_site& at, bool pointers_set, std::size_t n) {
    if (n % Fmt::block_size != 0)
        raise(at.str() + ": length " + std::to_string(n) + " is not a multiple of the " +
              std::to_string(Fmt::block_size) + "-value block");
    if (n != 0 && !pointers_set) raise(at.str() + ": null pointer for a non-empty row");
}

inline void check_finite(const call_site& at, const float* x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i]))
            raise(at.str() + ": input " + std::to_string(i) + " is " + std::to_string(x[i]) +
                  "; only finite values can be quantized");
}

/// Checks nblocks blocks that are blocks first, first + 1, ... of the row (the numbers the message uses).
template <class Fmt>
void check_scales(const call_site& at, const float* x, const typename Fmt::block* y, std::size_t nblocks,
                  std::size_t first) {
    for (std::size_t b = 0; b < nblocks; ++b) {
        if (Fmt::finite_scales(y[b])) continue;
        float amax = 0.0f;
        for (std::size_t j = 0; j < Fmt::block_size; ++j) amax = std::fmax(amax, std::fabs(x[b * Fmt::block_size + j]));
        raise(at.str() + ": block " + std::to_string(first + b) + " (largest |x| = " + std::to_string(amax) +
              ") needs a scale beyond fp16's range of 65504");
    }
}

inline void check_importance(const call_site& at, const float* w, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (!(std::isfinite(w[i]) && w[i] >= 0.0f))
            raise(at.str() + ": importance " + std::to_string(i) + " is " + std::to_string(w[i]) +
                  "; importance weights must be finite and >= 0");
}

/// quantize_row's checks of its arguments (not of the result), reporting failures at `at`.
template <class Fmt>
void check_quantize_input(const call_site& at, const float* x, std::size_t n, bool out_set,
                          const quant_options* options) {
    check_row<Fmt>(at, x && out_set, n);
    if (options && options->importance) check_importance(at, options->importance, n);
    check_finite(at, x, n);
}

/// Quantizes blocks first .. first + nblocks - 1 of a checked row, whose values start at x_row (and
/// importance weights at options->importance), into y, and checks their scales; options == nullptr means
/// round to nearest.
template <class Block, class Backend>
void quantize_checked_blocks(const call_site& at, const float* x_row, std::size_t first, Block* y,
                             std::size_t nblocks, const quant_options* options) {
    using Fmt = typename Block::format;
    const float* x = x_row + first * Fmt::block_size;
    if (!options || options->method == quant_method::round_to_nearest) {
        quantize_blocks(x, y, nblocks, Backend{});
    } else if (options->method != quant_method::search) {
        raise(at.str() + ": quant_method::seqmse and gptq quantize whole rows");  // quantize_row_at's job
    } else if constexpr (has_search<Fmt>) {
        const float* w = options->importance ? options->importance + first * Fmt::block_size : nullptr;
        search_quantize_blocks(x, w, y, nblocks);
    } else {
        raise(at.str() + ": quant_method::search supports weight formats only");
    }
    check_scales<Fmt>(at, x, y, nblocks, first);
}

constexpr bool is_calibrated(const quant_options* options) noexcept {
    return options && (options->method == quant_method::seqmse || options->method == quant_method::gptq);
}

/// Fmt and Backend's blocks for calibrated_method (quantizers.hpp).
template <class Fmt, class Backend>
block_codec codec_of() noexcept {
    using Block = typename Fmt::block;
    return {Fmt::name(), Fmt::block_size, Fmt::block_bytes,
            [](const float* x, std::size_t n, void* y, quant_method method, const float* importance) {
                quant_options o;
                o.method = method;
                o.importance = importance;
                quantize_checked_blocks<Block, Backend>({"quantize_row", Fmt::name()}, x, 0, static_cast<Block*>(y),
                                                        n / Fmt::block_size, &o);
            },
            [](const void* y, std::size_t n, float* x) {
                dequantize_blocks(static_cast<const Block*>(y), x, n / Fmt::block_size, Backend{});
            }};
}

/// The checks of seqmse and gptq's options for rows of `cols` values.
template <class Fmt>
void check_calibrated(const call_site& at, const quant_options& options, std::size_t cols) {
    const char* method = options.method == quant_method::gptq ? "gptq" : "seqmse";
    if (!has_search<Fmt>) raise(at.str() + ": quant_method::" + method + " supports weight formats only");
    if (!options.calibration)
        raise(at.str() + ": quant_method::" + method + " needs options.calibration (a calibration_stats)");
    if (options.calibration->cols() != cols)
        raise(at.str() + ": the calibration statistics are of " + std::to_string(options.calibration->cols()) +
              " columns, the rows of " + std::to_string(cols));
    if (!(std::isfinite(options.damping) && options.damping >= 0.0f))
        raise(at.str() + ": damping " + std::to_string(options.damping) + " is not finite and >= 0");
}

/// quantize_row's checks and work, reporting failures at `at`; options == nullptr means round to nearest.
template <class Block, class Backend>
void quantize_row_at(const call_site& at, const float* x, std::size_t n, Block* y, const quant_options* options) {
    using Fmt = typename Block::format;
    check_quantize_input<Fmt>(at, x, n, y != nullptr, options);
    if (is_calibrated(options)) {
        check_calibrated<Fmt>(at, *options, n);
        options->calibration->quantize_rows(x, 1, n, reinterpret_cast<unsigned char*>(y), n / Fmt::block_size * sizeof(Block),
                                            codec_of<Fmt, Backend>(), *options);
        return;
    }
    quantize_checked_blocks<Block, Backend>(at, x, 0, y, n / Fmt::block_size, options);
}

inline void check_same_shape(const call_site& at, std::size_t src_rows, std::size_t src_cols, std::size_t dst_rows,
                      std::size_t dst_cols) {
    if (src_rows != dst_rows || src_cols != dst_cols)
        raise(at.str() + ": source is " + std::to_string(src_rows) + "x" + std::to_string(src_cols) +
              " but destination is " + std::to_string(dst_rows) + "x" + std::to_string(dst_cols));
}

template <class Backend>
constexpr void check_backend() noexcept {
    static_assert(Backend::compiled, "this backend is not enabled by the compiler flags (see config.hpp)");
}

}  // namespace detail

/// Quantizes n floats (n a multiple of the block size) into n / block_size blocks of y's format.
/// Throws lowbit::error if n is not a multiple of the block, a pointer is null, an input is NaN or +-Inf, or a
/// block's scale overflows fp16 (|x| beyond about 65504 * the format's largest code); y is then unspecified.
/// A block so small that 1/scale overflows float (|x| below about 2^-120) gets the codes of an all-zero block.
template <class Block, class Backend = default_backend>
void quantize_row(const float* x, std::size_t n, Block* y, Backend = {}) {
    detail::check_backend<Backend>();
    detail::quantize_row_at<Block, Backend>({"quantize_row", Block::format::name()}, x, n, y, nullptr);
}

/// Quantizes like quantize_row above with the method of `options` (see quantizers.hpp): round_to_nearest is
/// exactly quantize_row(x, n, y); search minimizes the importance-weighted squared error of every block and is
/// never worse than round_to_nearest. options.importance, if set, holds n finite weights >= 0 (checked, also
/// for round_to_nearest, which ignores them). search supports the weight formats (lowbit::has_search<Fmt>; it
/// throws for the activation formats q8_1 and q8_K) and runs the same scalar code on every backend.
template <class Block, class Backend = default_backend>
void quantize_row(const float* x, std::size_t n, Block* y, const quant_options& options, Backend = {}) {
    detail::check_backend<Backend>();
    detail::quantize_row_at<Block, Backend>({"quantize_row", Block::format::name()}, x, n, y, &options);
}

/// Dequantizes n values (n / block_size blocks) into y. Every bit pattern is accepted: scales that are Inf or
/// NaN give the IEEE products (e.g. Inf * 0 = NaN), identically on every backend.
template <class Block, class Backend = default_backend>
void dequantize_row(const Block* x, std::size_t n, float* y, Backend = {}) {
    using Fmt = typename Block::format;
    detail::check_backend<Backend>();
    detail::check_row<Fmt>({"dequantize_row", Fmt::name()}, x && y, n);
    dequantize_blocks(x, y, n / Fmt::block_size, Backend{});
}

namespace detail {
/// fake_quantize_row's clip mask of blocks first .. first + count - 1.
template <class Fmt>
void clip_mask(const float* x, const float* y, std::size_t first, std::size_t count, std::uint8_t* clipped) {
    for (std::size_t i = first * Fmt::block_size; i < (first + count) * Fmt::block_size; i += Fmt::block_size) {
        float lo = y[i], hi = y[i];
        for (std::size_t j = 1; j < Fmt::block_size; ++j) {
            lo = std::fmin(lo, y[i + j]);
            hi = std::fmax(hi, y[i + j]);
        }
        for (std::size_t j = 0; j < Fmt::block_size; ++j) clipped[i + j] = x[i + j] > hi || x[i + j] < lo;
    }
}
}  // namespace detail

/// Fake quantization, for quantization-aware training: y = dequantize_row(quantize_row(x, options)) bit for
/// bit, on every backend, without a row-sized buffer: after quantize_row's input checks, blocks are quantized
/// and dequantized 8 at a time through a stack buffer. Call it with the format named:
/// lowbit::fake_quantize_row<lowbit::q4_0>(x, n, y, mask). Checks and throws exactly as quantize_row with the
/// same options (y is then unspecified). y may be x (in place) when clipped is null.
///
/// clipped, if not null, receives n bytes, the straight-through estimator's mask: clipped[i] = 1 if x[i] lies
/// outside the range of its block's dequantized values, i.e. x[i] > max_j y[j] or x[i] < min_j y[j] over the
/// block_size values j of x[i]'s block, else 0. A value that only rounds (to a code inside the block's range)
/// gets 0; a value beyond the block's extreme outputs, whose code was clamped, gets 1. A block's extreme input
/// itself may get 1 when the rounding of the stored scales leaves the extreme output slightly short of it.
template <class Fmt, class Backend = default_backend>
void fake_quantize_row(const float* x, std::size_t n, float* y, std::uint8_t* clipped,
                       const quant_options& options = {}, Backend = {}) {
    using Block = typename Fmt::block;
    constexpr std::size_t chunk = 8;  // blocks per pass: at most 8 * 292 bytes of stack (q8_K)
    detail::check_backend<Backend>();
    const detail::call_site at{"fake_quantize_row", Fmt::name()};
    detail::check_quantize_input<Fmt>(at, x, n, y != nullptr, &options);
    const std::size_t nblocks = n / Fmt::block_size;
    if (detail::is_calibrated(&options)) {  // whole rows only: a row-sized buffer
        std::vector<Block> row(nblocks);
        detail::quantize_row_at<Block, Backend>(at, x, n, row.data(), &options);
        dequantize_blocks(row.data(), y, nblocks, Backend{});
        if (clipped) detail::clip_mask<Fmt>(x, y, 0, nblocks, clipped);
        return;
    }
    Block buffer[chunk];
    for (std::size_t first = 0; first < nblocks; first += chunk) {
        const std::size_t count = std::min(chunk, nblocks - first);
        detail::quantize_checked_blocks<Block, Backend>(at, x, first, buffer, count, &options);
        dequantize_blocks(buffer, y + first * Fmt::block_size, count, Backend{});
        if (clipped) detail::clip_mask<Fmt>(x, y, first, count, clipped);
    }
}

namespace detail {
/// A block's min scale: dmin of the K formats (weight = ... - dmin * m_s), m of q4_1 and q5_1 (weight = d q + m),
/// nullptr for the formats without a min.
template <class Block>
auto min_scale_of(Block& b, int) -> decltype(&b.dmin) { return &b.dmin; }
template <class Block>
auto min_scale_of(Block& b, long) -> decltype(&b.m) { return &b.m; }
template <class Block>
half_bytes* min_scale_of(Block&, ...) { return nullptr; }
/// A block's scale d as a float, and d set to 1: mxfp4's power of two in its exponent byte, the others' fp16 d.
template <class Block>
float scale_of(const Block& b) noexcept {
    if constexpr (std::is_same<Block, mxfp4::block>::value || arch::ref::lattice_format<Block>::value)
        return Block::format::scale(b);
    else return load_half(b.d);
}
template <class Block>
void set_unit_scale(Block& b) noexcept {
    if constexpr (std::is_same<Block, mxfp4::block>::value) b.e = 128;
    else if constexpr (arch::ref::lattice_format<Block>::value) Block::format::set_scale_bits(b, 0x3C00);
    else b.d.set_bits(0x3C00);
}
}  // namespace detail

/// For quantization-aware training with learned scales (LSQ, Esser et al. 2020): the gradient of a loss with
/// respect to each block's scale d and min scale (m of q4_1 and q5_1, dmin of the K formats), given its gradient
/// grad_y with respect to y = fake_quantize_row<Fmt>(x, n, y, ..., options). Every weight is y_i = d * a_i + c_i *
/// min_scale, with a_i and c_i fixed by the codes (and sub-block scales). Straight-through estimator: a value
/// inside its block's range (not clipped, as fake_quantize_row's mask) has dy_i/dd = (y_i - x_i) / d (rounding
/// passes gradients through: y_i = x_i + d * r_i with r_i held) and dy_i/dmin = 0; a clipped value has
/// dy_i/dd = a_i and dy_i/dmin = c_i (its code is held). So grad_scale[b] = sum over block b of grad_y_i *
/// dy_i/dd, grad_min[b] likewise; n / block_size of each. grad_min may be null, and must be for formats without
/// a min (it is left alone there). Checks as fake_quantize_row; weight formats only.
template <class Fmt, class Backend = default_backend>
void fake_quantize_scale_grad(const float* x, std::size_t n, const float* grad_y, float* grad_scale, float* grad_min,
                              const quant_options& options = {}, Backend = {}) {
    using Block = typename Fmt::block;
    static_assert(has_search<Fmt>, "fake_quantize_scale_grad: weight formats only");
    detail::check_backend<Backend>();
    const detail::call_site at{"fake_quantize_scale_grad", Fmt::name()};
    detail::check_quantize_input<Fmt>(at, x, n, grad_y && grad_scale, &options);
    if (grad_min && !Fmt::has_min) raise(at.str() + ": grad_min must be null: " + Fmt::name() + " has no min");
    const std::size_t nblocks = n / Fmt::block_size;
    std::vector<Block> blocks(nblocks);
    detail::quantize_row_at<Block, Backend>(at, x, n, blocks.data(), &options);
    float y[Fmt::block_size], a[Fmt::block_size], c[Fmt::block_size];
    std::uint8_t clipped[Fmt::block_size];
    for (std::size_t b = 0; b < nblocks; ++b) {
        const float* xb = x + b * Fmt::block_size;
        const float* gb = grad_y + b * Fmt::block_size;
        Block unit = blocks[b];  // a_i: d = 1, min scale 0; c_i: d = 0, min scale 1
        detail::set_unit_scale(unit);
        if (half_bytes* m = detail::min_scale_of(unit, 0)) m->set_bits(0);
        dequantize_blocks(&blocks[b], y, 1, Backend{});
        dequantize_blocks(&unit, a, 1, Backend{});
        if constexpr (Fmt::has_min) {
            unit.d.set_bits(0);
            detail::min_scale_of(unit, 0)->set_bits(0x3C00);
            dequantize_blocks(&unit, c, 1, Backend{});
        }
        detail::clip_mask<Fmt>(xb, y, 0, 1, clipped);
        const float d = detail::scale_of(blocks[b]);
        double gd = 0, gm = 0;
        for (std::size_t i = 0; i < Fmt::block_size; ++i) {
            // d == 0 (an all-zero block): every value holds its code.
            if (clipped[i] || d == 0.0f) {
                gd += static_cast<double>(gb[i]) * a[i];
                if (grad_min) gm += static_cast<double>(gb[i]) * c[i];
            } else {
                gd += static_cast<double>(gb[i]) * (static_cast<double>(y[i]) - xb[i]) / d;
            }
        }
        grad_scale[b] = static_cast<float>(gd);
        if (grad_min) grad_min[b] = static_cast<float>(gm);
    }
}

/// Dot product of n weights with n activations already quantized to the weights' activation format
/// (Fmt::activation: q8_0 for q8_0, q4_0, q5_0; q8_1 for q4_1, q5_1; q8_K for the K-quants).
/// Each block's integer sum is exact on every backend; the float sum of the scaled block terms may be
/// accumulated in another order by SIMD backends, so results differ from the scalar reference by at most
/// 2 (nblocks + 2) * (2^-24 * sum over blocks of |scale products| + 2^-149), where a block's scale products are its
/// d-term (isum * d_w * d_a) and, for formats with a min, its min term (m_w * s_a, or dmin * d_a * msum): the two
/// may cancel, so each counts with its own magnitude (tested); 2^-149 (the float subnormals' step) covers products
/// below float's normal range (mxfp4's smallest exponents reach it). If a product overflows float the result is
/// unspecified beyond being non-finite.
template <class Block, class Backend = default_backend>
float dot(const Block* w, const typename Block::format::activation::block* a, std::size_t n, Backend = {}) {
    using Fmt = typename Block::format;
    detail::check_backend<Backend>();
    detail::check_row<Fmt>({"dot", Fmt::name()}, w && a, n);
    return dot_blocks(w, a, n / Fmt::block_size, Backend{});
}

/// Quantizes every row of src into dst (same shape); checks as quantize_row, naming the row that failed.
template <class Fmt, class Backend = default_backend>
void quantize(matrix_view<const float> src, qmatrix_view<Fmt> dst, Backend = {}) {
    detail::check_backend<Backend>();
    detail::check_same_shape({"quantize", Fmt::name()}, src.rows(), src.cols(), dst.rows(), dst.cols());
    for (std::size_t r = 0; r < src.rows(); ++r)
        detail::quantize_row_at<typename Fmt::block, Backend>({"quantize", Fmt::name(), r}, src.row(r), src.cols(),
                                                              dst.row(r), nullptr);
}

/// Quantizes every row of src into dst with the method of `options`; options.importance, if set, holds
/// src.cols() weights that every row uses. Checks as quantize_row, naming the row that failed.
template <class Fmt, class Backend = default_backend>
void quantize(matrix_view<const float> src, qmatrix_view<Fmt> dst, const quant_options& options, Backend = {}) {
    detail::check_backend<Backend>();
    detail::check_same_shape({"quantize", Fmt::name()}, src.rows(), src.cols(), dst.rows(), dst.cols());
    if (detail::is_calibrated(&options)) {  // all rows at once: seqmse and gptq share work between rows
        for (std::size_t r = 0; r < src.rows(); ++r)
            detail::check_quantize_input<Fmt>({"quantize", Fmt::name(), r}, src.row(r), src.cols(), dst.row(r) != nullptr,
                                              &options);
        detail::check_calibrated<Fmt>({"quantize", Fmt::name()}, options, src.cols());
        if (src.rows() == 0) return;
        options.calibration->quantize_rows(src.row(0), src.rows(), src.row_stride(),
                                           reinterpret_cast<unsigned char*>(dst.row(0)), dst.row_stride_bytes(),
                                           detail::codec_of<Fmt, Backend>(), options);
        return;
    }
    for (std::size_t r = 0; r < src.rows(); ++r)
        detail::quantize_row_at<typename Fmt::block, Backend>({"quantize", Fmt::name(), r}, src.row(r), src.cols(),
                                                              dst.row(r), &options);
}

/// Dequantizes every row of src into dst (same shape).
template <class Fmt, class Backend = default_backend>
void dequantize(const_qmatrix_view<Fmt> src, matrix_view<float> dst, Backend backend = {}) {
    detail::check_same_shape({"dequantize", Fmt::name()}, src.rows(), src.cols(), dst.rows(), dst.cols());
    for (std::size_t r = 0; r < src.rows(); ++r) dequantize_row(src.row(r), src.cols(), dst.row(r), backend);
}

LOWBIT_NAMESPACE_END
