// K-quants (q2_K ... q6_K) and q8_K: gguf's dequantization (golden files from tools/golden), the round-trip error
// of the round-to-nearest baseline, q8_K's quantization rule, and dot products against the dequantized vectors.
#include "test_common.hpp"

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

using namespace lowbit_test;

namespace {

using k_formats = as_tuple<lowbit::k_formats>::type;

std::vector<unsigned char> read_file(const std::string& name) {
    const std::string path = std::string(LOWBIT_TEST_DATA_DIR) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    INFO("golden file " << path << " (regenerate with tools/golden/generate.sh)");
    REQUIRE(in.good());
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// RMSE of the round-to-nearest baseline on N(0, 1), about 10% above what it measures.
template <class Fmt> double rtn_rmse_bound();
template <> double rtn_rmse_bound<lowbit::q6_K>() { return 0.021; }
template <> double rtn_rmse_bound<lowbit::q5_K>() { return 0.042; }
template <> double rtn_rmse_bound<lowbit::q4_K>() { return 0.086; }
template <> double rtn_rmse_bound<lowbit::q3_K>() { return 0.17; }
template <> double rtn_rmse_bound<lowbit::q2_K>() { return 0.36; }

}  // namespace

TEST_CASE("K block sizes and bits per weight are GGUF's", "[kquants]") {
    STATIC_REQUIRE(lowbit::q2_K::block_bytes == 84);
    STATIC_REQUIRE(lowbit::q3_K::block_bytes == 110);
    STATIC_REQUIRE(lowbit::q4_K::block_bytes == 144);
    STATIC_REQUIRE(lowbit::q5_K::block_bytes == 176);
    STATIC_REQUIRE(lowbit::q6_K::block_bytes == 210);
    STATIC_REQUIRE(lowbit::q8_K::block_bytes == 292);
    STATIC_REQUIRE(alignof(lowbit::q8_K::block) == 1);
    REQUIRE(lowbit::q2_K::bits_per_weight == 2.625);
    REQUIRE(lowbit::q3_K::bits_per_weight == 3.4375);
    REQUIRE(lowbit::q6_K::bits_per_weight == 6.5625);
}

TEMPLATE_LIST_TEST_CASE("K formats dequantize to exactly gguf's floats", "[kquants][golden]", k_formats) {
    using Fmt = TestType;
    const auto bytes = read_file(std::string(Fmt::name()) + ".gguf.bin");
    const auto want_bytes = read_file(std::string(Fmt::name()) + ".dequant.f32");
    REQUIRE(bytes.size() % Fmt::block_bytes == 0);
    const std::size_t nblocks = bytes.size() / Fmt::block_bytes, n = nblocks * Fmt::block_size;
    REQUIRE(want_bytes.size() == n * sizeof(float));
    std::vector<float> want(n), got(n);
    std::memcpy(want.data(), want_bytes.data(), want_bytes.size());
    // At a misaligned address too: blocks have alignment 1.
    offset_buffer<unsigned char> src(bytes.size(), 3);
    std::memcpy(src.data(), bytes.data(), bytes.size());
    lowbit::dequantize_row(reinterpret_cast<const typename Fmt::block*>(src.data()), n, got.data(), backend{});
    for (std::size_t i = 0; i < n; ++i)
        LOWBIT_REQUIRE_CAPTURE(same_float(got[i], want[i]), Fmt::name(), i / Fmt::block_size, i % Fmt::block_size,
                               got[i], want[i]);
}

TEMPLATE_LIST_TEST_CASE("K round trip: quantized blocks dequantize within the baseline's error", "[kquants][roundtrip]",
                        k_formats) {
    using Fmt = TestType;
    const std::size_t rows = 8, cols = 2048;
    std::vector<float> x(rows * cols), y(rows * cols);
    fill(x.data(), x.size(), data_kind::normal, 7);
    std::vector<typename Fmt::block> q(rows * cols / Fmt::block_size);
    lowbit::quantize(lowbit::matrix_view<const float>(x.data(), rows, cols), lowbit::qmatrix_view<Fmt>(q.data(), rows, cols),
                     backend{});
    lowbit::dequantize(lowbit::const_qmatrix_view<Fmt>(q.data(), rows, cols),
                       lowbit::matrix_view<float>(y.data(), rows, cols), backend{});
    double se = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) se += (x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
    const double rmse = std::sqrt(se / static_cast<double>(x.size()));
    CAPTURE(Fmt::name(), rmse);
    REQUIRE(rmse < rtn_rmse_bound<Fmt>());
}

TEMPLATE_LIST_TEST_CASE("K quantization keeps every data kind finite; zero and tiny blocks give zeros", "[kquants]",
                        k_formats) {
    using Fmt = TestType;
    const std::size_t n = 4 * Fmt::block_size;
    std::vector<float> x(n), y(n);
    std::vector<typename Fmt::block> q(4);
    for (data_kind kind : all_data_kinds) {
        fill(x.data(), n, kind, 11);
        lowbit::quantize_row(x.data(), n, q.data(), backend{});
        lowbit::dequantize_row(q.data(), n, y.data(), backend{});
        double amax = 0.0, err = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            amax = std::max(amax, static_cast<double>(std::fabs(x[i])));
            err = std::max(err, static_cast<double>(std::fabs(x[i] - y[i])));
        }
        CAPTURE(Fmt::name(), static_cast<int>(kind), amax, err);
        REQUIRE(std::isfinite(err));
        // A loose sanity bound: with fp16-subnormal super-block scales ("tiny") d may underflow to 0 while dmin
        // does not, leaving every value at -dmin * m_s, within the block's range.
        REQUIRE(err <= 2.0 * amax);
    }
    std::fill(x.begin(), x.end(), 0.0f);
    x[5] = 1.0e-30f;  // the super-block scale underflows fp16: every value dequantizes to 0
    lowbit::quantize_row(x.data(), n, q.data(), backend{});
    lowbit::dequantize_row(q.data(), n, y.data(), backend{});
    for (float v : y) REQUIRE(v == 0.0f);
}

TEST_CASE("q8_K follows ggml's rule: iscale = -127 / signed max, nearest (ties to even), d = 1 / iscale, bsums",
          "[kquants][q8_K]") {
    std::vector<float> x(512);
    fill(x.data(), 256, data_kind::normal, 3);
    for (int j = 0; j < 256; ++j) x[256 + j] = static_cast<float>(j % 17 - 8) * 0.5f;  // ties after scaling
    x[256 + 100] = -127.0f;  // signed max: iscale = 1, so x * iscale lands on .5 for the halves
    std::vector<lowbit::q8_K::block> q(2);
    lowbit::quantize_row(x.data(), 512, q.data(), backend{});
    for (int b = 0; b < 2; ++b) {
        float max = 0.0f;
        for (int j = 0; j < 256; ++j)
            if (std::fabs(x[256 * b + j]) > std::fabs(max)) max = x[256 * b + j];
        const float iscale = -127.0f / max;
        REQUIRE(q[b].d.value() == 1.0f / iscale);
        for (int j = 0; j < 256; ++j)
            LOWBIT_REQUIRE_CAPTURE(q[b].qs[j] == static_cast<int>(std::nearbyint(iscale * x[256 * b + j])), b, j,
                                   x[256 * b + j]);
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += q[b].qs[16 * g + j];
            REQUIRE(q[b].bsums[g].value() == sum);
        }
    }
    REQUIRE(q[1].qs[100] == -127);
    REQUIRE(q[1].qs[1] == -4);  // iscale = -127 / -127 = 1: -3.5 rounds to even
    std::vector<float> y(512);
    lowbit::dequantize_row(q.data(), 512, y.data(), backend{});
    for (int j = 0; j < 256; ++j) REQUIRE(y[256 + j] == static_cast<float>(q[1].qs[j]));  // d = 1
}

TEMPLATE_LIST_TEST_CASE("K dot products equal the dot of the dequantized vectors", "[kquants][dot]", k_formats) {
    using Fmt = TestType;
    using wblock = typename Fmt::block;
    using ablock = lowbit::q8_K::block;
    const std::size_t nblocks = GENERATE(1, 2, 5);
    std::mt19937 rng(static_cast<std::uint32_t>(nblocks * 77 + Fmt::block_bytes));
    std::vector<wblock> w(nblocks);
    std::vector<ablock> a(nblocks);
    fill_bytes(w.data(), w.size() * sizeof(wblock), rng());
    const bool unit = GENERATE(true, false);
    CAPTURE(Fmt::name(), nblocks, unit);
    for (auto& b : w) {
        if (unit) Fmt::set_unit_scales(b, rng);
        else Fmt::set_random_scales(b, rng);
    }
    // Activations from integer data, so d = -1 / 127 * max... choose max = 127: d = 1 exactly (unit case).
    std::vector<float> x(nblocks * 256);
    std::uniform_int_distribution<int> code(-126, 126);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(code(rng));
    for (std::size_t b = 0; b < nblocks; ++b) x[b * 256 + rng() % 256] = unit ? -127.0f : -127.0f * 0.375f;
    lowbit::quantize_row(x.data(), x.size(), a.data(), backend{});

    std::vector<float> wd(x.size()), ad(x.size());
    lowbit::dequantize_row(w.data(), x.size(), wd.data(), backend{});
    lowbit::dequantize_row(a.data(), x.size(), ad.data(), backend{});
    double want = 0.0, magnitude = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        want += static_cast<double>(wd[i]) * ad[i];
        magnitude += std::fabs(static_cast<double>(wd[i]) * ad[i]);
    }
    const float got = lowbit::dot(w.data(), a.data(), x.size(), backend{});
    CAPTURE(got, want, magnitude);
    if (unit) {
        // Integer weights and activations with every partial sum below 2^24: the float result is exact.
        REQUIRE(magnitude < 16777216.0);
        REQUIRE(static_cast<double>(got) == want);
    } else {
        // The dequantized products round each weight once (d * sc, then * q): allow a few float ulps per block.
        REQUIRE(std::fabs(static_cast<double>(got) - want) <= 8.0 * static_cast<double>(nblocks + 2) *
                                                                   std::ldexp(1.0, -24) * magnitude);
    }
}
