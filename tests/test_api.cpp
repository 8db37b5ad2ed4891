// The checked API: error messages for each rule, views (also from Eigen), NaN/Inf/out-of-range inputs, and the
// round-trip error of each format on N(0, 1) data.
#include "test_common.hpp"

#include <Eigen/Core>
#include <cmath>
#include <limits>

using namespace lowbit_test;
using Catch::Matchers::Contains;

TEST_CASE("bad shapes and pointers raise lowbit::error naming the value and the rule", "[api][errors]") {
    std::vector<float> x(64, 1.0f);
    std::vector<lowbit::q4_0::block> q(2);
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 33, q.data(), backend{}),
                        Contains("quantize_row(q4_0)") && Contains("length 33") && Contains("multiple of the 32"));
    REQUIRE_THROWS_WITH(lowbit::quantize_row(static_cast<const float*>(nullptr), 32, q.data(), backend{}),
                        Contains("null pointer"));
    REQUIRE_THROWS_WITH(lowbit::dequantize_row(q.data(), 31, x.data(), backend{}), Contains("length 31"));
    std::vector<lowbit::q8_0::block> a(2);
    REQUIRE_THROWS_WITH(lowbit::dot(q.data(), a.data(), 40, backend{}), Contains("dot(q4_0)") && Contains("length 40"));
    REQUIRE_THROWS_AS(lowbit::quantize_row(x.data(), 1, q.data(), backend{}), std::invalid_argument);

    REQUIRE_THROWS_WITH((lowbit::qmatrix_view<lowbit::q4_0>(q.data(), 1, 48)),
                        Contains("q4_0 needs columns in multiples of 32, got 48"));
    REQUIRE_THROWS_WITH((lowbit::qmatrix_view<lowbit::q4_0>(q.data(), 2, 64, 20)),
                        Contains("row stride of 20 bytes is smaller than one q4_0 row of 64 values (36 bytes)"));
    REQUIRE_THROWS_WITH((lowbit::qmatrix_view<lowbit::q4_0>(nullptr, 2, 64)), Contains("data is null"));
    REQUIRE_THROWS_WITH((lowbit::matrix_view<float>(x.data(), 2, 32, 16)),
                        Contains("row stride 16 is smaller than the 32 columns"));
    REQUIRE_THROWS_WITH((lowbit::matrix_view<float>(nullptr, 2, 32)), Contains("data is null"));
    REQUIRE_NOTHROW(lowbit::matrix_view<float>(nullptr, 0, 32));

    std::vector<float> y(64);
    REQUIRE_THROWS_WITH(lowbit::quantize(lowbit::matrix_view<const float>(x.data(), 2, 32),
                                         lowbit::qmatrix_view<lowbit::q4_0>(q.data(), 1, 64), backend{}),
                        Contains("source is 2x32 but destination is 1x64"));
}

TEMPLATE_LIST_TEST_CASE("NaN and Inf inputs are rejected, naming the index", "[api][errors]", all_formats) {
    using Fmt = TestType;
    const std::size_t n = 2 * Fmt::block_size;
    std::vector<float> x(n, 0.5f);
    std::vector<typename Fmt::block> q(2);
    const float bad = GENERATE(std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity());
    x[37] = bad;
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), n, q.data(), backend{}),
                        Contains("input 37") && Contains("only finite values can be quantized"));
}

TEMPLATE_LIST_TEST_CASE("a block whose scale overflows fp16 is rejected; tiny values flush to zero", "[api][errors]",
                        all_formats) {
    using Fmt = TestType;
    const std::size_t n = 2 * Fmt::block_size;
    std::vector<float> x(n, 1.0f);
    std::vector<typename Fmt::block> q(2);
    std::vector<float> y(n);
    x[Fmt::block_size + 8] = 3.0e38f;  // any fp16 scale overflows
    // q8_K's float32 scale and mxfp4's power of two (up to 2^127) have no fp16 limit, and tiny values keep their
    // magnitude (within q8_K's 1e-4 and mxfp4's 20%).
    if (!has_fp16_scale<Fmt>) REQUIRE_NOTHROW(lowbit::quantize_row(x.data(), n, q.data(), backend{}));
    else REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), n, q.data(), backend{}),
                             Contains("block 1") && Contains("beyond fp16's range"));
    // Values so small that the scale underflows fp16: documented to dequantize to (signed) zero, like GGUF.
    for (auto& v : x) v = 1.0e-30f;
    lowbit::quantize_row(x.data(), n, q.data(), backend{});
    lowbit::dequantize_row(q.data(), n, y.data(), backend{});
    for (float v : y) {
        if (has_fp16_scale<Fmt>) REQUIRE(std::fabs(v) <= 1.0e-30f);
        else REQUIRE(std::fabs(v - 1.0e-30f) <= 0.2e-30f);
    }
}

TEMPLATE_LIST_TEST_CASE("all-zero blocks quantize to zero scales and dequantize to zeros", "[api]", all_formats) {
    using Fmt = TestType;
    const std::size_t n = 3 * Fmt::block_size;
    std::vector<float> x(n, 0.0f), y(n, 1.0f);
    std::vector<typename Fmt::block> q(3);
    lowbit::quantize_row(x.data(), n, q.data(), backend{});
    lowbit::dequantize_row(q.data(), n, y.data(), backend{});
    for (float v : y) REQUIRE(v == 0.0f);
}

TEST_CASE("blocks with Inf or NaN scales dequantize to the IEEE products", "[api]") {
    lowbit::q4_0::block b{};
    b.d.set_bits(0x7C00);  // +Inf
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    float y[32];
    lowbit::dequantize_row(&b, 32, y, backend{});
    for (int j = 0; j < 16; ++j) {
        const int code = j;
        if (code == 8) REQUIRE(std::isnan(y[j]));  // Inf * 0
        else REQUIRE(y[j] == (code < 8 ? -INFINITY : INFINITY));
    }
}

namespace {
// RMSE bounds on N(0, 1) data, about 10% above what the reference measures (q4_0 measures 0.0863).
template <class Fmt> double rmse_bound();
template <> double rmse_bound<lowbit::q8_0>() { return 0.0060; }
template <> double rmse_bound<lowbit::q8_1>() { return 0.0060; }
template <> double rmse_bound<lowbit::q5_1>() { return 0.042; }
template <> double rmse_bound<lowbit::q5_0>() { return 0.047; }
template <> double rmse_bound<lowbit::q4_1>() { return 0.086; }
template <> double rmse_bound<lowbit::q4_0>() { return 0.094; }
template <> double rmse_bound<lowbit::iq4_nl>() { return 0.089; }
template <> double rmse_bound<lowbit::mxfp4>() { return 0.126; }
template <> double rmse_bound<lowbit::iq4_xs>() { return 0.089; }
template <> double rmse_bound<lowbit::tq2_0>() { return 0.88; }
template <> double rmse_bound<lowbit::tq1_0>() { return 0.88; }
template <> double rmse_bound<lowbit::tcq3>() { return 0.13; }
template <> double rmse_bound<lowbit::tcq2>() { return 0.26; }
template <> double rmse_bound<lowbit::iq3_s>() { return 0.142; }
template <> double rmse_bound<lowbit::iq3_xxs>() { return 0.195; }
template <> double rmse_bound<lowbit::iq2_s>() { return 0.264; }
template <> double rmse_bound<lowbit::iq2_xs>() { return 0.315; }
template <> double rmse_bound<lowbit::iq2_xxs>() { return 0.363; }
template <> double rmse_bound<lowbit::iq1_m>() { return 0.462; }
template <> double rmse_bound<lowbit::iq1_s>() { return 0.498; }
template <> double rmse_bound<lowbit::q8_K>() { return 0.0080; }
template <> double rmse_bound<lowbit::q6_K>() { return 0.021; }
template <> double rmse_bound<lowbit::q5_K>() { return 0.042; }
template <> double rmse_bound<lowbit::q4_K>() { return 0.086; }
template <> double rmse_bound<lowbit::q3_K>() { return 0.17; }
template <> double rmse_bound<lowbit::q2_K>() { return 0.36; }
}  // namespace

TEMPLATE_LIST_TEST_CASE("round trip error on N(0,1) stays within each format's bound", "[api][roundtrip]", all_formats) {
    using Fmt = TestType;
    const std::size_t rows = 16, cols = 1024;
    std::vector<float> x(rows * cols), y(rows * cols);
    fill(x.data(), x.size(), data_kind::normal, 42);
    std::vector<typename Fmt::block> q(rows * cols / Fmt::block_size);
    lowbit::quantize(lowbit::matrix_view<const float>(x.data(), rows, cols), lowbit::qmatrix_view<Fmt>(q.data(), rows, cols),
                     backend{});
    lowbit::dequantize(lowbit::const_qmatrix_view<Fmt>(q.data(), rows, cols), lowbit::matrix_view<float>(y.data(), rows, cols),
                       backend{});
    double se = 0.0, max_err = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        se += (x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
        max_err = std::max(max_err, static_cast<double>(std::fabs(x[i] - y[i])));
    }
    const double rmse = std::sqrt(se / static_cast<double>(x.size()));
    CAPTURE(Fmt::name(), rmse, max_err);
    REQUIRE(rmse < rmse_bound<Fmt>());
}

TEST_CASE("matrix_view from Eigen matrices, maps and blocks", "[view]") {
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    RowMajor m = RowMajor::Random(4, 64);
    lowbit::matrix_view<float> v(m);
    REQUIRE(v.rows() == 4);
    REQUIRE(v.cols() == 64);
    REQUIRE(v.row_stride() == 64);
    REQUIRE(&v(2, 5) == &m(2, 5));
    auto blk = m.block(1, 32, 2, 32);
    lowbit::matrix_view<float> vb(blk);
    REQUIRE(vb.row_stride() == 64);
    REQUIRE(&vb(1, 3) == &m(2, 35));
    Eigen::Map<const RowMajor> cmap(m.data(), 2, 128);
    lowbit::matrix_view<const float> vc(cmap);
    REQUIRE(vc.extent(1) == 128);
    Eigen::VectorXf col = Eigen::VectorXf::Random(32);
    lowbit::matrix_view<float> vcol(col);
    REQUIRE(vcol.rows() == 32);
    Eigen::MatrixXf colmajor = Eigen::MatrixXf::Random(4, 64);
    REQUIRE_THROWS_WITH(lowbit::matrix_view<float>(colmajor), Contains("column-major"));
    lowbit::matrix_view<const float> from_mutable = v;
    REQUIRE(from_mutable.data() == v.data());
}
