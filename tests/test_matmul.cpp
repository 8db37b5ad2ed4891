// gemv / gemm on every backend: against Eigen's float product (a derived error bound), against the generic
// one-dot_blocks-per-output path (bit-exact where the backend has no micro-kernel for the format, and for the K
// formats' kernels; otherwise bit-exact against the micro-kernels' documented per-pair FMA sequence and within
// the dot bound), packed weights (lowbit::pack) bit-exact against plain ones, and invariance to the executor:
// thread counts 1, 2, 3, 7 and task order give bit-identical results.
#include "dot_bound.hpp"
#include "test_common.hpp"

#include <lowbit/matmul.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <iterator>

using namespace lowbit_test;
using Catch::Matchers::Contains;

namespace {

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// W (rows x K) and X (batch x K) from N(0, 1), W quantized to Fmt and dequantized, X quantized row by row.
template <class Fmt>
struct problem {
    using wblock = typename Fmt::block;
    using ablock = typename Fmt::activation::block;
    std::size_t rows, batch, k;
    row_major w, wd, x;
    std::vector<wblock> wq;
    std::vector<ablock> xq;

    problem(std::size_t rows_, std::size_t batch_, std::size_t nblocks, std::uint32_t seed)
        : rows(rows_), batch(batch_), k(nblocks * Fmt::block_size), w(rows_, k), wd(rows_, k), x(batch_, k),
          wq(rows_ * nblocks), xq(batch_ * nblocks) {
        fill(x.data(), x.size(), data_kind::normal, seed + 1);
        if constexpr (slow_quantizer<wblock>) {
            // Minutes under qemu at these sizes: random blocks with finite scales instead, and w their values.
            std::mt19937 rng(seed);
            fill_bytes(wq.data(), wq.size() * sizeof(wblock), rng());
            for (wblock& b : wq) set_random_scales(b, rng);
            lowbit::dequantize(cw(), lowbit::matrix_view<float>(wd), backend{});
            w = wd;
        } else {
            fill(w.data(), w.size(), data_kind::normal, seed);
            lowbit::quantize(lowbit::matrix_view<const float>(w), qw(), backend{});
            lowbit::dequantize(cw(), lowbit::matrix_view<float>(wd), backend{});
        }
        lowbit::quantize(lowbit::matrix_view<const float>(x), qx(), backend{});
    }
    lowbit::qmatrix_view<Fmt> qw() { return {wq.data(), rows, k}; }
    lowbit::const_qmatrix_view<Fmt> cw() const { return {wq.data(), rows, k}; }
    lowbit::qmatrix_view<typename Fmt::activation> qx() { return {xq.data(), batch, k}; }
    lowbit::const_qmatrix_view<typename Fmt::activation> cx() const { return {xq.data(), batch, k}; }
    const wblock* wrow(std::size_t r) const { return wq.data() + r * (k / Fmt::block_size); }
    const ablock* xrow(std::size_t c) const { return xq.data() + c * (k / Fmt::block_size); }
};

/// True when the backend has a matmul micro-kernel for Fmt with the per-pair FMA sequence below, rather than
/// the outputs of dot_blocks (lowbit::detail::gemm_matches_dot); for the dispatched backend, the chosen one's.
template <class Fmt>
bool has_micro_kernel() {
    if constexpr (std::is_same<backend, lowbit::arch::dispatched>::value)
        return !lowbit::detail::dispatched_kernels<Fmt>().gemm_matches_dot;
    else
        return !lowbit::detail::gemm_matches_dot<Fmt, backend>();
}

/// The micro-kernels' per-pair sequence (arch/x86/gemm.hpp): acc = fma(float(isum_b), d_w * d_a, acc), then
/// acc = fma(m_w, s_a, acc) for the formats with a min. The exact isum_b is the scalar reference's block dot with
/// both scales set to 1 and the min set to 0.
template <class WBlock, class ABlock>
float fma_sequence(const WBlock* w, const ABlock* a, std::size_t nblocks) {
    float acc = 0.0f;
    for (std::size_t b = 0; b < nblocks; ++b) {
        WBlock wb = w[b];
        ABlock ab = a[b];
        lowbit::detail::set_unit_scale(wb);
        ab.d.set_bits(0x3C00);
        if constexpr (WBlock::format::has_min) wb.m.set_bits(0);
        const float isum = lowbit::arch::dot_blocks(&wb, &ab, 1, lowbit::scalar{});
        acc = std::fma(isum, lowbit::detail::scale_of(w[b]) * lowbit::load_half(a[b].d), acc);
        if constexpr (WBlock::format::has_min)
            acc = std::fma(lowbit::load_half(w[b].m), lowbit::load_half(a[b].s), acc);
    }
    return acc;
}

/// Runs a gemm on a y with padded rows (stride rows + 3, padding must stay untouched); returns y densely.
template <class Fmt, class Exec>
row_major run_gemm(const problem<Fmt>& p, const lowbit::matmul_options& opt, Exec&& exec,
                   const row_major* y0 = nullptr) {
    const std::size_t stride = p.rows + 3;
    std::vector<float> y(p.batch * stride, -7.0f);
    if (y0)
        for (std::size_t c = 0; c < p.batch; ++c)
            for (std::size_t r = 0; r < p.rows; ++r) y[c * stride + r] = (*y0)(c, r);
    lowbit::gemm(p.cw(), p.cx(), lowbit::matrix_view<float>(y.data(), p.batch, p.rows, stride), opt,
                 std::forward<Exec>(exec), backend{});
    row_major out(p.batch, p.rows);
    for (std::size_t c = 0; c < p.batch; ++c) {
        for (std::size_t r = 0; r < p.rows; ++r) out(c, r) = y[c * stride + r];
        for (std::size_t r = p.rows; r < stride; ++r) REQUIRE(y[c * stride + r] == -7.0f);
    }
    return out;
}

constexpr std::size_t shape_sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17};
constexpr std::size_t batch_sizes[] = {1, 2, 3, 5, 8, 9, 17};

}  // namespace

// Error bound against the float product y_ref = X Wd^T (Wd = dequantized W; weight rounding is not measured).
// Activations (blocks of B values): x~_j = d' q_j with q_j = round(x_j / d), d = amax_block / 127 and d' the
// stored scale (fp16: |d' - d| <= 2^-11 d; q8_K's float: d' = d), so |x~_j - x_j| <= d (1/2 + 127 * 2^-11)
// and, with amax_block <= ||x_block||_2, ||x~ - x||_2 <= sqrt(B) (1/2 + 127 * 2^-11) / 127 ||x||_2
// (= 3.21 * 2^-7 ||x||_2 for B = 32). By Cauchy-Schwarz
//   |y - y_ref| <= 1.01 sqrt(B) 0.5625 / 127 ||w_row||_2 ||x||_2 + float rounding,
// the rounding (products of scales, block sums in lowbit, K sums in Eigen) below 2 (K + 8) 2^-24 ||w|| ||x||.
// q8_1 (for q4_1, q5_1) also stores s = fp16(d * sum q), off from d' * sum q by <= 2^-10 |d sum q|, which the
// weight min m multiplies: + 2^-9 sum over blocks |m_b| ||x_b||_1.
TEMPLATE_LIST_TEST_CASE("gemm and gemv against Eigen's float product, and against the generic path",
                        "[matmul]", weight_formats) {
    using Fmt = TestType;
    // Every (rows, batch) pair, each with two of the depths 1..9 (K tails of every unroll): across the pairs each
    // depth meets every row count and batch size, at 2/9 of the full product's cost (minutes under qemu).
    const std::size_t ri = GENERATE(range<std::size_t>(0, std::size(shape_sizes)));
    const std::size_t bi = GENERATE(range<std::size_t>(0, std::size(batch_sizes)));
    const std::size_t nblocks = 1 + (2 * ri + 5 * bi + 4 * GENERATE(0u, 1u)) % 9;
    const std::size_t rows = shape_sizes[ri], batch = batch_sizes[bi];
    problem<Fmt> p(rows, batch, nblocks, static_cast<std::uint32_t>(rows * 1000 + batch * 10 + nblocks));
    CAPTURE(Fmt::name(), rows, batch, nblocks);

    const row_major y = run_gemm(p, {}, lowbit::serial_executor{});
    const row_major y_ref = p.x * p.wd.transpose();
    for (std::size_t c = 0; c < batch; ++c)
        for (std::size_t r = 0; r < rows; ++r) {
            const double norms = static_cast<double>(p.w.row(r).norm()) * p.x.row(c).norm();
            const double activation_rounding = 1.01 * std::sqrt(double(Fmt::activation::block_size)) * 0.5625 / 127;
            double bound = (activation_rounding + 2.0 * (p.k + 8) * std::ldexp(1.0, -24)) * norms;
            if constexpr (std::is_same<typename Fmt::activation, lowbit::q8_1>::value)
                for (std::size_t b = 0; b < nblocks; ++b)
                    bound += std::ldexp(1.0, -9) * std::fabs(lowbit::load_half(p.wrow(r)[b].m)) *
                             p.x.row(c).segment(b * 32, 32).template lpNorm<1>();
            LOWBIT_REQUIRE_CAPTURE(std::fabs(static_cast<double>(y(c, r)) - y_ref(c, r)) <= bound, c, r, y(c, r),
                                   y_ref(c, r), bound);
        }

    for (std::size_t c = 0; c < batch; ++c)
        for (std::size_t r = 0; r < rows; ++r) {
            const float generic = lowbit::arch::dot_blocks(p.wrow(r), p.xrow(c), nblocks, backend{});
            if constexpr (std::is_same<typename Fmt::activation, lowbit::q8_K>::value) {
                // The K formats' kernels compute what dot_blocks does.
                LOWBIT_REQUIRE_CAPTURE(same_float(y(c, r), generic), c, r, y(c, r), generic);
            } else if (!has_micro_kernel<Fmt>()) {
                LOWBIT_REQUIRE_CAPTURE(same_float(y(c, r), generic), c, r, y(c, r), generic);
            } else {
                const float sequence = fma_sequence(p.wrow(r), p.xrow(c), nblocks);
                LOWBIT_REQUIRE_CAPTURE(same_float(y(c, r), sequence), c, r, y(c, r), sequence);
                // The dot bound of api.hpp, for each of the two against the scalar reference.
                const double magnitude = lowbit_test::scale_magnitude(p.wrow(r), p.xrow(c), nblocks);
                const double bound = lowbit_test::dot_bound(magnitude, nblocks, 4.0);
                LOWBIT_REQUIRE_CAPTURE(std::fabs(static_cast<double>(y(c, r)) - generic) <= bound, c, r, y(c, r),
                                       generic, bound);
            }
        }

    // gemv of each activation row is the same row of gemm, bit for bit; float and quantized inputs agree.
    std::vector<float> yv(rows), yq(rows);
    for (std::size_t c = 0; c < batch; ++c) {
        lowbit::gemv(p.cw(), p.x.row(c).data(), yv.data(), {}, lowbit::serial_executor{}, backend{});
        lowbit::gemv(p.cw(), p.xrow(c), yq.data(), {}, lowbit::serial_executor{}, backend{});
        for (std::size_t r = 0; r < rows; ++r) {
            LOWBIT_REQUIRE_CAPTURE(same_float(yv[r], y(c, r)), c, r);
            LOWBIT_REQUIRE_CAPTURE(same_float(yq[r], y(c, r)), c, r);
        }
    }
    row_major yf(batch, rows);
    lowbit::gemm(p.cw(), lowbit::matrix_view<const float>(p.x), lowbit::matrix_view<float>(yf), {},
                 lowbit::serial_executor{}, backend{});
    REQUIRE(std::memcmp(yf.data(), y.data(), sizeof(float) * y.size()) == 0);

    // Packed weights (lowbit::pack) give the same products, bit for bit, through gemm and gemv.
    if constexpr (lowbit::packed_layout<Fmt>::supported) {
        const lowbit::packed_matrix<Fmt> packed(p.qw());
        row_major yp(batch, rows);
        lowbit::gemm(packed, p.cx(), lowbit::matrix_view<float>(yp), {}, lowbit::serial_executor{}, backend{});
        REQUIRE(std::memcmp(yp.data(), y.data(), sizeof(float) * y.size()) == 0);
        for (std::size_t c = 0; c < batch; ++c) {
            lowbit::gemv(packed.view(), p.xrow(c), yq.data(), {}, lowbit::serial_executor{}, backend{});
            REQUIRE(std::memcmp(yq.data(), y.row(c).data(), sizeof(float) * rows) == 0);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("pack: layout size, zero padding rows, and unpack_row gives the plain blocks back",
                        "[matmul][pack]", weight_formats) {
    using Fmt = TestType;
    if constexpr (lowbit::packed_layout<Fmt>::supported) {
        const std::size_t rows = GENERATE(1, 15, 16, 17, 40);
        problem<Fmt> p(rows, 1, 5, static_cast<std::uint32_t>(rows));
        // Random bytes too (every code and fifth bit pattern), not only what the quantizer writes.
        fill_bytes(reinterpret_cast<unsigned char*>(p.wq.data()), p.wq.size() * sizeof(p.wq[0]), 77 + rows);
        std::vector<unsigned char> bytes(lowbit::const_packed_view<Fmt>::bytes_for(rows, p.k) + 1);
        REQUIRE(bytes.size() - 1 == (rows + 15) / 16 * 5 * lowbit::packed_layout<Fmt>::bytes);
        // The layout's overhead over the plain blocks: only the K formats' whole-byte 6-bit scales (packed.hpp).
        REQUIRE(lowbit::packed_layout<Fmt>::bytes - 16 * Fmt::block_bytes <= 64);
        const auto packed = lowbit::pack(p.cw(), bytes.data() + 1);  // any alignment
        REQUIRE(packed.size_bytes() == bytes.size() - 1);
        REQUIRE_THROWS_AS(lowbit::pack(p.cw(), nullptr), lowbit::error);
        REQUIRE_THROWS_WITH(lowbit::const_packed_view<Fmt>(bytes.data(), rows, Fmt::block_size + 1),
                            Contains("multiples of " + std::to_string(Fmt::block_size)));
        std::vector<typename Fmt::block> row(5);
        for (std::size_t r = 0; r < (rows + 15) / 16 * 16; ++r) {
            std::fill(row.begin(), row.end(), typename Fmt::block{});
            lowbit::unpack_row(packed, r, row.data());
            const typename Fmt::block zero{};
            for (std::size_t b = 0; b < 5; ++b)
                LOWBIT_REQUIRE_CAPTURE(std::memcmp(&row[b], r < rows ? p.wrow(r) + b : &zero, sizeof(zero)) == 0, r, b);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("bias and accumulate: y = y0 + (Wx + bias), rounded in that order", "[matmul]",
                        weight_formats) {
    using Fmt = TestType;
    const std::size_t rows = GENERATE(1, 9, 17), batch = GENERATE(1, 4, 7);
    problem<Fmt> p(rows, batch, 3, static_cast<std::uint32_t>(rows + 100 * batch));
    std::vector<float> bias(rows);
    fill(bias.data(), rows, data_kind::normal, 5);
    row_major y0(batch, rows);
    fill(y0.data(), y0.size(), data_kind::normal, 6);

    const row_major plain = run_gemm(p, {}, lowbit::serial_executor{});
    const row_major biased = run_gemm(p, {bias.data(), false}, lowbit::serial_executor{});
    const row_major accumulated = run_gemm(p, {nullptr, true}, lowbit::serial_executor{}, &y0);
    const row_major both = run_gemm(p, {bias.data(), true}, lowbit::serial_executor{}, &y0);
    for (std::size_t c = 0; c < batch; ++c)
        for (std::size_t r = 0; r < rows; ++r) {
            LOWBIT_REQUIRE_CAPTURE(same_float(biased(c, r), plain(c, r) + bias[r]), c, r);
            LOWBIT_REQUIRE_CAPTURE(same_float(accumulated(c, r), y0(c, r) + plain(c, r)), c, r);
            LOWBIT_REQUIRE_CAPTURE(same_float(both(c, r), y0(c, r) + (plain(c, r) + bias[r])), c, r);
        }
    std::vector<float> yv(y0.row(0).data(), y0.row(0).data() + rows);
    lowbit::gemv(p.cw(), p.x.row(0).data(), yv.data(), {bias.data(), true}, lowbit::serial_executor{}, backend{});
    for (std::size_t r = 0; r < rows; ++r) REQUIRE(same_float(yv[r], both(0, r)));
}

namespace {
/// An executor without size() that runs its tasks last to first.
struct reverse_executor {
    template <class F>
    void operator()(std::size_t ntasks, F&& task) const {
        for (std::size_t i = ntasks; i-- > 0;) task(i);
    }
};
}  // namespace

TEMPLATE_LIST_TEST_CASE("thread counts 1, 2, 3, 7 and task order give bit-identical results", "[matmul][threads]",
                        weight_formats) {
    using Fmt = TestType;
    const std::size_t batch = GENERATE(1, 5);
    // About six tasks of matmul.hpp's 64 KiB for every format (more would only cost time under qemu).
    const std::size_t nblocks = (std::size_t{6} << 16) / (203 * sizeof(typename Fmt::block)) + 1;
    problem<Fmt> p(203, batch, nblocks, static_cast<std::uint32_t>(batch));
    const row_major want = run_gemm(p, {}, lowbit::serial_executor{});
    for (unsigned threads : {1u, 2u, 3u, 7u}) {
        lowbit::thread_pool pool(threads);
        REQUIRE(pool.size() == threads);
        const row_major got = run_gemm(p, {}, pool);
        CAPTURE(threads);
        REQUIRE(std::memcmp(got.data(), want.data(), sizeof(float) * want.size()) == 0);
        std::vector<float> yv(p.rows);
        lowbit::gemv(p.cw(), p.x.row(0).data(), yv.data(), {}, pool, backend{});
        REQUIRE(std::memcmp(yv.data(), want.row(0).data(), sizeof(float) * p.rows) == 0);
        if constexpr (lowbit::packed_layout<Fmt>::supported) {
            const lowbit::packed_matrix<Fmt> packed(p.cw());
            row_major got_packed(batch, p.rows);
            lowbit::gemm(packed, p.cx(), lowbit::matrix_view<float>(got_packed), {}, pool, backend{});
            REQUIRE(std::memcmp(got_packed.data(), want.data(), sizeof(float) * want.size()) == 0);
        }
    }
    const row_major reversed = run_gemm(p, {}, reverse_executor{});
    REQUIRE(std::memcmp(reversed.data(), want.data(), sizeof(float) * want.size()) == 0);
}

TEST_CASE("thread_pool runs every task once and rethrows the first exception", "[matmul][threads]") {
    lowbit::thread_pool pool(3);
    std::vector<std::atomic<int>> hits(1000);
    for (int round = 0; round < 20; ++round) pool(hits.size(), [&](std::size_t i) { ++hits[i]; });
    for (auto& h : hits) REQUIRE(h.load() == 20);
    REQUIRE_THROWS_WITH(pool(100, [](std::size_t i) {
        if (i == 42) throw std::runtime_error("task 42");
    }),
                        "task 42");
    int after = 0;
    pool(1, [&](std::size_t) { ++after; });  // still usable
    REQUIRE(after == 1);
    pool(0, [](std::size_t) { FAIL("no task expected"); });
}

TEST_CASE("gemm and gemv raise lowbit::error on bad shapes and null pointers", "[matmul][errors]") {
    problem<lowbit::q4_0> p(3, 2, 2, 1);
    std::vector<float> y(64), x(64);
    using lowbit::matrix_view;
    REQUIRE_THROWS_WITH(lowbit::gemm(p.cw(), matrix_view<const float>(x.data(), 2, 32), matrix_view<float>(y.data(), 2, 3),
                                     {}, lowbit::serial_executor{}, backend{}),
                        Contains("gemm(q4_0)") && Contains("W is 3x64, X is 2x32 and Y is 2x3"));
    REQUIRE_THROWS_WITH(lowbit::gemm(p.cw(), p.cx(), matrix_view<float>(y.data(), 2, 4), {}, lowbit::serial_executor{},
                                     backend{}),
                        Contains("Y is 2x4") && Contains("Y batch x 3"));
    REQUIRE_THROWS_WITH(lowbit::gemm(p.cw(), p.cx(), matrix_view<float>(y.data(), 3, 3), {}, lowbit::serial_executor{},
                                     backend{}),
                        Contains("Y is 3x3"));
    REQUIRE_THROWS_WITH(lowbit::gemv(p.cw(), static_cast<const float*>(nullptr), y.data(), {},
                                     lowbit::serial_executor{}, backend{}),
                        Contains("gemv(q4_0): null x or y for W of 3x64"));
    REQUIRE_THROWS_WITH(lowbit::gemv(p.cw(), p.xrow(0), nullptr, {}, lowbit::serial_executor{}, backend{}),
                        Contains("null x or y"));
    x[5] = std::nanf("");
    REQUIRE_THROWS_WITH(lowbit::gemv(p.cw(), x.data(), y.data(), {}, lowbit::serial_executor{}, backend{}),
                        Contains("input 5"));
    x[5] = 0.0f;
    // Empty products are fine: no rows, or K = 0 (y = bias).
    const float bias[3] = {1.0f, 2.0f, 3.0f};
    lowbit::gemv(lowbit::const_qmatrix_view<lowbit::q4_0>(nullptr, 3, 0), x.data(), y.data(), {bias},
                 lowbit::serial_executor{}, backend{});
    REQUIRE((y[0] == 1.0f && y[1] == 2.0f && y[2] == 3.0f));
    lowbit::gemm(lowbit::const_qmatrix_view<lowbit::q4_0>(nullptr, 0, 64), matrix_view<const float>(x.data(), 1, 64),
                 matrix_view<float>(nullptr, 1, 0), {}, lowbit::serial_executor{}, backend{});
}

TEMPLATE_LIST_TEST_CASE("plain weights at a batch of packing_batch or more (packed on the fly) give each row's gemv",
                        "[matmul][pack]", weight_formats) {
    using Fmt = TestType;
    const std::size_t rows = GENERATE(16, 45), batch = lowbit::arch::packing_batch<Fmt>() + 3;
    problem<Fmt> p(rows, batch, 3, static_cast<std::uint32_t>(rows + 7));
    std::vector<float> bias(rows);
    fill(bias.data(), rows, data_kind::normal, 8);
    row_major y0(batch, rows);
    fill(y0.data(), y0.size(), data_kind::normal, 9);
    const lowbit::matmul_options opt{bias.data(), true};
    const row_major serial = run_gemm(p, opt, lowbit::serial_executor{}, &y0);
    lowbit::thread_pool pool(3);
    const row_major threaded = run_gemm(p, opt, pool, &y0);
    REQUIRE(std::memcmp(threaded.data(), serial.data(), sizeof(float) * serial.size()) == 0);
    for (std::size_t c = 0; c < batch; ++c) {
        std::vector<float> yv(y0.row(c).data(), y0.row(c).data() + rows);
        lowbit::gemv(p.cw(), p.xrow(c), yv.data(), opt, lowbit::serial_executor{}, backend{});
        CAPTURE(c);
        REQUIRE(std::memcmp(yv.data(), serial.row(c).data(), sizeof(float) * rows) == 0);
    }
}
