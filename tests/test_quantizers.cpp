// quant_method::search (quantizers.hpp): never worse than round_to_nearest, uses importance weights, and is
// deterministic; quant_options through the checked API.
#include "test_common.hpp"

#include <cmath>
#include <limits>

using namespace lowbit_test;
using Catch::Matchers::Contains;

namespace {

using searchable = std::tuple<lowbit::q8_0, lowbit::q5_1, lowbit::q5_0, lowbit::q4_1, lowbit::q4_0, lowbit::q6_K,
                              lowbit::q5_K, lowbit::q4_K, lowbit::q3_K, lowbit::q2_K>;

/// sum_i w_i (x_i - y_i)^2 over a rows x cols matrix, w per column (nullptr: all 1).
double weighted_error(const std::vector<float>& x, const std::vector<float>& y, const float* w, std::size_t cols) {
    double e = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double d = static_cast<double>(x[i]) - y[i];
        e += (w ? w[i % cols] : 1.0) * d * d;
    }
    return e;
}

template <class Fmt>
std::vector<float> round_trip(const std::vector<float>& x, std::size_t rows, std::size_t cols,
                              const lowbit::quant_options& options, std::vector<typename Fmt::block>* blocks = nullptr) {
    std::vector<typename Fmt::block> q(rows * cols / Fmt::block_size);
    std::vector<float> y(x.size());
    lowbit::quantize(lowbit::matrix_view<const float>(x.data(), rows, cols), lowbit::qmatrix_view<Fmt>(q.data(), rows, cols),
                     options, backend{});
    lowbit::dequantize(lowbit::const_qmatrix_view<Fmt>(q.data(), rows, cols),
                       lowbit::matrix_view<float>(y.data(), rows, cols), backend{});
    if (blocks) *blocks = q;
    return y;
}

/// Importance weights spanning four decades, per column.
std::vector<float> make_importance(std::size_t cols, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> exponent(-2.0f, 2.0f);
    std::vector<float> w(cols);
    for (auto& v : w) v = std::pow(10.0f, exponent(rng));
    w[3] = 0.0f;  // zero importance is allowed
    return w;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("search never does worse than round_to_nearest, per block and in total", "[quantizers]",
                        searchable) {
    using Fmt = TestType;
    const std::size_t rows = 4, cols = 1024;
    std::vector<float> x(rows * cols);
    const auto importance = make_importance(cols, 5);
    for (data_kind kind : all_data_kinds) {
        fill(x.data(), x.size(), kind, 21 + static_cast<std::uint32_t>(kind));
        if (kind == data_kind::huge)
            for (auto& v : x) v *= 0.25f;  // q4_1 and q5_1 store the block minimum itself in fp16
        for (const float* w : {static_cast<const float*>(nullptr), importance.data()}) {
            const auto rtn = round_trip<Fmt>(x, rows, cols, {lowbit::quant_method::round_to_nearest, w});
            const auto found = round_trip<Fmt>(x, rows, cols, {lowbit::quant_method::search, w});
            CAPTURE(Fmt::name(), static_cast<int>(kind), w != nullptr);
            // Block by block (the search keeps the better of the two for every block).
            for (std::size_t b = 0; b < x.size() / Fmt::block_size; ++b) {
                double e_rtn = 0.0, e_found = 0.0;
                for (std::size_t j = b * Fmt::block_size; j < (b + 1) * Fmt::block_size; ++j) {
                    const double wj = w ? w[j % cols] : 1.0;
                    e_rtn += wj * (static_cast<double>(x[j]) - rtn[j]) * (static_cast<double>(x[j]) - rtn[j]);
                    e_found += wj * (static_cast<double>(x[j]) - found[j]) * (static_cast<double>(x[j]) - found[j]);
                }
                CAPTURE(b, e_rtn, e_found);
                REQUIRE(e_found <= e_rtn * (1.0 + 1e-12));
            }
            const double e_rtn = weighted_error(x, rtn, w, cols), e_found = weighted_error(x, found, w, cols);
            CAPTURE(e_rtn, e_found);
            REQUIRE(e_found <= e_rtn * (1.0 + 1e-12));
            // And it finds something better on generic data.
            if (kind == data_kind::normal || kind == data_kind::heavy_tail) REQUIRE(e_found < 0.99 * e_rtn);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("importance weights lower the weighted error", "[quantizers]", searchable) {
    using Fmt = TestType;
    const std::size_t rows = 8, cols = 1024;
    std::vector<float> x(rows * cols);
    fill(x.data(), x.size(), data_kind::normal, 99);
    const auto w = make_importance(cols, 17);
    const auto plain = round_trip<Fmt>(x, rows, cols, {lowbit::quant_method::search, nullptr});
    const auto weighted = round_trip<Fmt>(x, rows, cols, {lowbit::quant_method::search, w.data()});
    const double e_plain = weighted_error(x, plain, w.data(), cols), e_weighted = weighted_error(x, weighted, w.data(), cols);
    CAPTURE(Fmt::name(), e_plain, e_weighted);
    REQUIRE(e_weighted < 0.95 * e_plain);
}

TEMPLATE_LIST_TEST_CASE("search is deterministic and writes valid blocks", "[quantizers]", searchable) {
    using Fmt = TestType;
    const std::size_t rows = 2, cols = 512;
    std::vector<float> x(rows * cols);
    fill(x.data(), x.size(), data_kind::heavy_tail, 4);
    std::vector<typename Fmt::block> a, b;
    const auto ya = round_trip<Fmt>(x, rows, cols, {lowbit::quant_method::search, nullptr}, &a);
    round_trip<Fmt>(x, rows, cols, {lowbit::quant_method::search, nullptr}, &b);
    REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
    for (const auto& blk : a) REQUIRE(Fmt::finite_scales(blk));
    for (float v : ya) REQUIRE(std::isfinite(v));
}

TEMPLATE_LIST_TEST_CASE("round_to_nearest through quant_options is the plain quantize_row", "[quantizers][api]",
                        searchable) {
    using Fmt = TestType;
    const std::size_t n = 2 * std::max<std::size_t>(Fmt::block_size, 256);
    std::vector<float> x(n);
    fill(x.data(), n, data_kind::normal, 8);
    const auto w = make_importance(n, 1);
    std::vector<typename Fmt::block> a(n / Fmt::block_size), b(n / Fmt::block_size);
    lowbit::quantize_row(x.data(), n, a.data(), backend{});
    lowbit::quantize_row(x.data(), n, b.data(), lowbit::quant_options{lowbit::quant_method::round_to_nearest, w.data()},
                         backend{});
    REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

TEST_CASE("quant_options are checked like the data", "[quantizers][api][errors]") {
    std::vector<float> x(256, 1.0f), w(256, 1.0f);
    std::vector<lowbit::q4_K::block> q(1);
    const lowbit::quant_options search{lowbit::quant_method::search, w.data()};
    w[9] = -1.0f;
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 256, q.data(), search, backend{}),
                        Contains("quantize_row(q4_K)") && Contains("importance 9") && Contains("finite and >= 0"));
    w[9] = std::numeric_limits<float>::quiet_NaN();
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 256, q.data(), search, backend{}), Contains("importance 9"));
    w[9] = 1.0f;
    x[17] = std::numeric_limits<float>::infinity();
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 256, q.data(), search, backend{}), Contains("input 17"));
    x[17] = 3.0e38f;
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 256, q.data(), search, backend{}), Contains("beyond fp16's range"));
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 128, q.data(), search, backend{}), Contains("length 128"));
    std::fill(x.begin(), x.end(), 0.0f);
    lowbit::quantize_row(x.data(), 256, q.data(), search, backend{});
    std::vector<float> y(256, 1.0f);
    lowbit::dequantize_row(q.data(), 256, y.data(), backend{});
    for (float v : y) REQUIRE(v == 0.0f);
}

TEST_CASE("search is refused for activation formats; round_to_nearest options work for them", "[quantizers][api]") {
    std::vector<float> x(256, 1.0f);
    std::vector<lowbit::q8_K::block> q(1);
    REQUIRE_THROWS_WITH(lowbit::quantize_row(x.data(), 256, q.data(), lowbit::quant_options{lowbit::quant_method::search},
                                             backend{}),
                        Contains("quantize_row(q8_K)") && Contains("weight formats only"));
    REQUIRE_NOTHROW(lowbit::quantize_row(x.data(), 256, q.data(), lowbit::quant_options{}, backend{}));
    STATIC_REQUIRE(!lowbit::has_search<lowbit::q8_1>);
    STATIC_REQUIRE(lowbit::has_search<lowbit::q2_K>);
}

// ---- The trellis-coded formats (format/tcq_common.hpp, ref/trellis.hpp) ----

namespace {

using trellis_formats = std::tuple<lowbit::tcq2, lowbit::tcq3>;

/// SNR in dB of the round trip of x through Fmt's quantize_row (importance w or none).
template <class Fmt>
double round_trip_snr(const std::vector<float>& x, const float* w = nullptr) {
    std::vector<typename Fmt::block> q(x.size() / Fmt::block_size);
    std::vector<float> y(x.size());
    const auto method = w ? lowbit::quant_method::search : lowbit::quant_method::round_to_nearest;
    lowbit::quantize_row(x.data(), x.size(), q.data(), {method, w}, backend{});
    lowbit::dequantize_row(q.data(), x.size(), y.data(), backend{});
    double signal = 0.0, noise = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        signal += static_cast<double>(x[i]) * x[i];
        noise += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    }
    return 10.0 * std::log10(signal / noise);
}

/// Weight t's value straight from the byte diagram of format/tcq2.hpp and tcq3.hpp: the stream read bit by bit.
template <class Fmt>
float diagram_value(const typename Fmt::block& b, int t) {
    constexpr int stream_bits = 8 * static_cast<int>(sizeof b.qs), window_bits = 12;
    constexpr int base = std::is_same<Fmt, lowbit::tcq2>::value ? 2 : 3, index_bits = base + 4;
    constexpr unsigned multiplier = std::is_same<Fmt, lowbit::tcq2>::value ? 0x940B : 0x6A09;
    int end = 0;  // bits through weight t: base each, one more at t % 16 = 2, 7, 12
    for (int s = 0; s <= t; ++s) end += base + (s % 16 == 2 || s % 16 == 7 || s % 16 == 12);
    unsigned window = 0;
    for (int j = 0; j < window_bits; ++j) {
        const int bit = ((end - window_bits + j) % stream_bits + stream_bits) % stream_bits;
        window |= static_cast<unsigned>((b.qs[bit / 8] >> (bit % 8)) & 1) << j;
    }
    const unsigned index = ((window * multiplier) % 4096) >> (window_bits - index_bits);
    return lowbit::load_half(b.d) * static_cast<float>(Fmt::values[index]);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("trellis formats decode as their byte diagrams say, for any bytes", "[quantizers][trellis]",
                        trellis_formats) {
    using Fmt = TestType;
    std::vector<typename Fmt::block> q(6);
    fill_bytes(q.data(), q.size() * sizeof(q[0]), 77);
    std::mt19937 rng(5);
    for (auto& b : q) b.d.set_bits(lowbit::detail::random_test_scale(rng));
    std::vector<float> y(q.size() * 256);
    lowbit::dequantize_row(q.data(), y.size(), y.data(), backend{});
    for (std::size_t b = 0; b < q.size(); ++b)
        for (int t = 0; t < 256; ++t)
            LOWBIT_REQUIRE_CAPTURE(y[256 * b + t] == diagram_value<Fmt>(q[b], t), Fmt::name(), b, t);
    // The table is the Gaussian quantiles, odd and increasing.
    for (std::size_t i = 0; i + 1 < std::size(Fmt::values); ++i) REQUIRE(Fmt::values[i] <= Fmt::values[i + 1]);
    REQUIRE(Fmt::values[0] == -127);
    REQUIRE(Fmt::bits_per_weight == (std::is_same<Fmt, lowbit::tcq2>::value ? 2.25 : 3.25));
}

TEST_CASE("trellis formats reach their SNR targets on Gaussian rows (issue #14)", "[quantizers][trellis]") {
    // 8 rows of 4096 N(0, 1) values. The rate-distortion bound is 6.02 dB per bit: 13.5 dB at 2.25 bits, 19.6 at 3.25.
    std::vector<float> x(8 * 4096);
    fill(x.data(), x.size(), data_kind::normal, 2024);
    const double snr2 = round_trip_snr<lowbit::tcq2>(x), snr3 = round_trip_snr<lowbit::tcq3>(x);
    CAPTURE(snr2, snr3);
    REQUIRE(snr2 >= 12.0);  // measured 12.56
    REQUIRE(snr3 >= 17.5);  // measured 18.53
}

TEMPLATE_LIST_TEST_CASE("trellis formats: zero, constant and outlier blocks, importance", "[quantizers][trellis]",
                        trellis_formats) {
    using Fmt = TestType;
    typename Fmt::block b;
    float y[256];
    SECTION("an all-zero block is zero bits and d = 0 (as is one too small for a normal search scale)") {
        for (const float v : {0.0f, -0.0f, 1e-45f}) {
            std::vector<float> x(256, v);
            lowbit::quantize_row(x.data(), 256, &b, backend{});
            const typename Fmt::block zero{};
            REQUIRE(std::memcmp(&b, &zero, sizeof b) == 0);
        }
    }
    SECTION("a constant block comes back as well as Gaussian data does: the trellis varies around its level") {
        std::vector<float> x(256, -3.0f);
        lowbit::quantize_row(x.data(), 256, &b, backend{});
        lowbit::dequantize_row(&b, 256, y, backend{});
        double e = 0.0;
        for (float v : y) e += (v + 3.0) * (v + 3.0);
        const double snr = 10.0 * std::log10(256 * 9.0 / e);
        CAPTURE(snr);
        REQUIRE(snr >= (std::is_same<Fmt, lowbit::tcq2>::value ? 12.0 : 17.5));
    }
    SECTION("one large outlier keeps its sign and the larger part of its size") {
        std::vector<float> x(256);
        fill(x.data(), 256, data_kind::normal, 5);
        for (float& v : x) v *= 0.01f;
        x[77] = 50.0f;
        lowbit::quantize_row(x.data(), 256, &b, backend{});
        lowbit::dequantize_row(&b, 256, y, backend{});
        CAPTURE(y[77]);
        REQUIRE(y[77] > 25.0f);
    }
    SECTION("importance weights lower the weighted error, and search keeps the better of the two blocks") {
        std::vector<float> x(4 * 1024);
        fill(x.data(), x.size(), data_kind::normal, 99);
        const auto w = make_importance(1024, 17);
        const auto plain = round_trip<Fmt>(x, 4, 1024, {lowbit::quant_method::round_to_nearest, nullptr});
        const auto weighted = round_trip<Fmt>(x, 4, 1024, {lowbit::quant_method::search, w.data()});
        const double e_plain = weighted_error(x, plain, w.data(), 1024);
        const double e_weighted = weighted_error(x, weighted, w.data(), 1024);
        CAPTURE(e_plain, e_weighted);
        REQUIRE(e_weighted < 0.9 * e_plain);
        for (std::size_t blk = 0; blk < x.size() / 256; ++blk) {
            double ep = 0.0, ew = 0.0;
            for (std::size_t j = 256 * blk; j < 256 * (blk + 1); ++j) {
                ep += w[j % 1024] * (x[j] - plain[j]) * (x[j] - plain[j]);
                ew += w[j % 1024] * (x[j] - weighted[j]) * (x[j] - weighted[j]);
            }
            REQUIRE(ew <= ep * (1.0 + 1e-12));
        }
    }
}
