// lowbit::fake_quantize_row: bit-equal to quantize_row + dequantize_row, its clipping mask, and its checks.
#include "test_common.hpp"

#include <algorithm>
#include <iterator>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

using namespace lowbit_test;

namespace {

/// quantize_row then dequantize_row on the backend under test: what fake_quantize_row must reproduce.
template <class Fmt>
std::vector<float> reference_roundtrip(const std::vector<float>& x, const lowbit::quant_options& options) {
    std::vector<typename Fmt::block> q(x.size() / Fmt::block_size);
    lowbit::quantize_row(x.data(), x.size(), q.data(), options, backend{});
    std::vector<float> y(x.size());
    lowbit::dequantize_row(q.data(), y.size(), y.data(), backend{});
    return y;
}

/// fake_quantize_row's output and mask equal the round trip and the mask computed from it by definition; or,
/// where quantize_row throws (a scale beyond fp16, as some of the `huge` data needs), it throws too.
template <class Fmt>
void check_fake_quantize(const std::vector<float>& x, const lowbit::quant_options& options) {
    const std::size_t n = x.size();
    std::vector<float> y(n, -1.0f);
    std::vector<std::uint8_t> mask(n, 7);
    std::vector<float> want;
    try {
        want = reference_roundtrip<Fmt>(x, options);
    } catch (const lowbit::error& e) {
        const std::string message = std::string("fake_") + e.what();  // "quantize_row(...)" becomes "fake_..."
        REQUIRE_THROWS_WITH(lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), mask.data(), options, backend{}),
                            message);
        return;
    }
    lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), mask.data(), options, backend{});
    for (std::size_t b = 0; b < n; b += Fmt::block_size) {
        const auto [lo, hi] = std::minmax_element(want.begin() + b, want.begin() + b + Fmt::block_size);
        for (std::size_t i = b; i < b + Fmt::block_size; ++i) {
            LOWBIT_REQUIRE_CAPTURE(same_float(y[i], want[i]), i, n, y[i], want[i]);
            LOWBIT_REQUIRE_CAPTURE(mask[i] == (x[i] > *hi || x[i] < *lo ? 1 : 0), i, n, x[i], *lo, *hi);
        }
    }
    // Without a mask: the same values.
    std::vector<float> y2(n);
    lowbit::fake_quantize_row<Fmt>(x.data(), n, y2.data(), nullptr, options, backend{});
    REQUIRE(std::memcmp(y.data(), y2.data(), n * sizeof(float)) == 0);
    // In place.
    std::vector<float> inout = x;
    lowbit::fake_quantize_row<Fmt>(inout.data(), n, inout.data(), nullptr, options, backend{});
    REQUIRE(std::memcmp(y.data(), inout.data(), n * sizeof(float)) == 0);
}

template <class Fmt>
std::vector<lowbit::quant_method> methods_of() {
    if constexpr (lowbit::has_search<Fmt>) return {lowbit::quant_method::round_to_nearest, lowbit::quant_method::search};
    else return {lowbit::quant_method::round_to_nearest};
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("fake_quantize_row equals quantize_row + dequantize_row", "[fake_quantize]", all_formats) {
    using Fmt = TestType;
    // 1 to 19 blocks: tails of the 8-block chunks, one chunk exactly and several; each length with three of the
    // data kinds, each kind with one or two lengths (the kernels below are proven on every kind by [kernels]).
    const std::size_t lengths[] = {1, 7, 8, 9, 19};
    for (std::size_t l = 0; l < std::size(lengths); ++l) {
        // The slow quantizers (seconds of search, minutes sanitized): the codebook formats one block and one chunk,
        // the trellis formats one block (the chunking is the same code for every format).
        if (slow_quantizer<typename Fmt::block> && lengths[l] != 1 && lengths[l] != 8) continue;
        if (lowbit::arch::ref::trellis_format<typename Fmt::block>::value && lengths[l] != 1) continue;
        const std::size_t nblocks = lengths[l], n = nblocks * Fmt::block_size;
        std::vector<float> x(n), importance(n);
        fill(importance.data(), n, data_kind::uniform, 99);
        for (float& w : importance) w = std::fabs(w);
        for (data_kind kind : all_data_kinds) {
            if ((static_cast<std::size_t>(kind) + l) % 3 != 0) continue;
            fill(x.data(), n, kind, static_cast<std::uint32_t>(nblocks * 31 + static_cast<int>(kind)));
            for (lowbit::quant_method method : methods_of<Fmt>()) {
                INFO(Fmt::name() << ", " << nblocks << " blocks, data kind " << static_cast<int>(kind) << ", method "
                                 << static_cast<int>(method));
                check_fake_quantize<Fmt>(x, {method, nullptr});
                check_fake_quantize<Fmt>(x, {method, importance.data()});
            }
        }
    }
}

TEMPLATE_LIST_TEST_CASE("fake_quantize_row's mask on data with outliers", "[fake_quantize]", all_formats) {
    using Fmt = TestType;
    // Uniform values in [-1, 1] with a large outlier in a few blocks, of either sign: the mask follows its
    // definition (check_fake_quantize), for both methods.
    const std::size_t n = 11 * Fmt::block_size;
    std::vector<float> x(n);
    fill(x.data(), n, data_kind::uniform, 5);
    for (std::size_t b : {0, 4, 9}) x[b * Fmt::block_size + 3 + b] = b == 4 ? -50.0f : 50.0f;
    for (lowbit::quant_method method : methods_of<Fmt>()) check_fake_quantize<Fmt>(x, {method, nullptr});
}

TEST_CASE("fake_quantize_row clips what q4_0's codes cannot reach", "[fake_quantize]") {
    // -8, -7.5, ..., 7.5: q4_0 maps the largest |x| (-8) to code -8, so d = 1 and the block reaches +7 at most:
    // 7.5 is clipped, -8 and the values between are not.
    std::vector<float> x(32);
    for (std::size_t i = 0; i < 32; ++i) x[i] = -8.0f + 0.5f * static_cast<float>(i);
    std::vector<float> y(32);
    std::vector<std::uint8_t> mask(32);
    lowbit::fake_quantize_row<lowbit::q4_0>(x.data(), 32, y.data(), mask.data(), {}, backend{});
    REQUIRE(y[0] == -8.0f);
    REQUIRE(*std::max_element(y.begin(), y.end()) == 7.0f);
    for (std::size_t i = 0; i < 32; ++i) REQUIRE(mask[i] == (x[i] > 7.0f ? 1 : 0));
}

TEMPLATE_LIST_TEST_CASE("fake_quantize_row checks its input like quantize_row", "[fake_quantize]", all_formats) {
    using Fmt = TestType;
    const std::size_t n = 10 * Fmt::block_size;
    std::vector<float> x(n), y(n);
    std::vector<std::uint8_t> mask(n);
    fill(x.data(), n, data_kind::normal, 3);
    const std::string name = Fmt::name();

    x[9 * Fmt::block_size + 1] = std::numeric_limits<float>::quiet_NaN();
    REQUIRE_THROWS_WITH(lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), mask.data(), {}, backend{}),
                        "fake_quantize_row(" + name + "): input " + std::to_string(9 * Fmt::block_size + 1) +
                            " is nan; only finite values can be quantized");
    x[9 * Fmt::block_size + 1] = std::numeric_limits<float>::infinity();
    REQUIRE_THROWS_AS(lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), nullptr, {}, backend{}), lowbit::error);
    x[9 * Fmt::block_size + 1] = 1.0f;

    // A scale beyond fp16 in block 9 (of the second 8-block chunk) is reported with its number in the row
    // (q8_K's and mxfp4's scales have no such limit).
    if constexpr (has_fp16_scale<Fmt>) {
        x[9 * Fmt::block_size + 2] = 3.0e38f;
        REQUIRE_THROWS_WITH(lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), mask.data(), {}, backend{}),
                            Catch::Contains("fake_quantize_row(" + name + "): block 9 ") &&
                                Catch::Contains("needs a scale beyond fp16's range"));
        x[9 * Fmt::block_size + 2] = 1.0f;
    }

    REQUIRE_THROWS_WITH(lowbit::fake_quantize_row<Fmt>(x.data(), n - 1, y.data(), mask.data(), {}, backend{}),
                        Catch::Contains("is not a multiple of the"));
    REQUIRE_THROWS_WITH(lowbit::fake_quantize_row<Fmt>(x.data(), n, nullptr, mask.data(), {}, backend{}),
                        Catch::Contains("null pointer"));
    std::vector<float> importance(n, 1.0f);
    importance[5] = -1.0f;
    REQUIRE_THROWS_WITH(
        lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), mask.data(), {{}, importance.data()}, backend{}),
        Catch::Contains("importance 5 is"));
    if constexpr (!lowbit::has_search<Fmt>) {
        REQUIRE_THROWS_WITH(lowbit::fake_quantize_row<Fmt>(x.data(), n, y.data(), mask.data(),
                                                           {lowbit::quant_method::search, nullptr}, backend{}),
                            Catch::Contains("quant_method::search supports weight formats only"));
    }
    // An empty row is valid, with null pointers too.
    lowbit::fake_quantize_row<Fmt>(nullptr, 0, nullptr, nullptr, {}, backend{});
}
