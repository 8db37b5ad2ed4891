// Golden vectors from llama.cpp's `gguf` Python package (tools/golden/gen_golden.py writes tests/data/): the
// backend under test must quantize gguf's inputs to exactly gguf's bytes and dequantize them to exactly gguf's
// floats. File naming is documented in gen_golden.py: <fmt>.input.f32, <fmt>.gguf.bin, <fmt>.dequant.f32.
#include "test_common.hpp"

#include <fstream>
#include <iterator>
#include <string>

using namespace lowbit_test;

namespace {

/// The formats gguf.quants can quantize (not only dequantize).
using gguf_quantizable = std::tuple<lowbit::q8_0, lowbit::q5_1, lowbit::q5_0, lowbit::q4_1, lowbit::q4_0, lowbit::mxfp4,
                                    lowbit::tq2_0, lowbit::tq1_0>;
/// Those, and the formats whose golden file holds random and crafted blocks (the K formats: test_kquants.cpp).
using gguf_dequantizable = std::tuple<lowbit::q8_0, lowbit::q5_1, lowbit::q5_0, lowbit::q4_1, lowbit::q4_0,
                                      lowbit::mxfp4, lowbit::iq4_nl, lowbit::iq4_xs, lowbit::tq2_0, lowbit::tq1_0,
                                      lowbit::iq3_s, lowbit::iq3_xxs, lowbit::iq2_s, lowbit::iq2_xs, lowbit::iq2_xxs,
                                      lowbit::iq1_m, lowbit::iq1_s>;
/// The codebook formats (format/iq_common.hpp).
using lattice_formats = std::tuple<lowbit::iq3_s, lowbit::iq3_xxs, lowbit::iq2_s, lowbit::iq2_xs, lowbit::iq2_xxs,
                                   lowbit::iq1_m, lowbit::iq1_s>;

/// Every value of a golden vector, e.g. golden_file<float>("q4_0.input.f32"). Fails the test if it is missing.
template <class T>
std::vector<T> golden_file(const std::string& name) {
    const std::string path = std::string(LOWBIT_TEST_DATA_DIR) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    INFO("golden file " << path << " (regenerate with tools/golden/generate.sh)");
    REQUIRE(in.good());
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(!bytes.empty());
    REQUIRE(bytes.size() % sizeof(T) == 0);
    std::vector<T> values(bytes.size() / sizeof(T));
    std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
}

constexpr std::size_t golden_row = 256;  // values per row in every golden file

}  // namespace

TEMPLATE_LIST_TEST_CASE("quantize_row gives gguf's bytes", "[golden][quantize]", gguf_quantizable) {
    using Fmt = TestType;
    const auto x = golden_file<float>(std::string(Fmt::name()) + ".input.f32");
    const auto want = golden_file<unsigned char>(std::string(Fmt::name()) + ".gguf.bin");
    const std::size_t row_bytes = golden_row / Fmt::block_size * Fmt::block_bytes;
    REQUIRE(x.size() % golden_row == 0);
    REQUIRE(want.size() == x.size() / golden_row * row_bytes);
    std::vector<typename Fmt::block> got(golden_row / Fmt::block_size);
    for (std::size_t r = 0; r < x.size() / golden_row; ++r) {
        lowbit::quantize_row(x.data() + r * golden_row, golden_row, got.data(), backend{});
        for (std::size_t b = 0; b < got.size(); ++b)
            LOWBIT_REQUIRE_CAPTURE(
                std::memcmp(&got[b], want.data() + r * row_bytes + b * Fmt::block_bytes, Fmt::block_bytes) == 0,
                Fmt::name(), r, b);
    }
}

TEMPLATE_LIST_TEST_CASE("dequantize_row gives gguf's floats", "[golden][dequantize]", gguf_dequantizable) {
    using Fmt = TestType;
    const auto bytes = golden_file<unsigned char>(std::string(Fmt::name()) + ".gguf.bin");
    const auto want = golden_file<float>(std::string(Fmt::name()) + ".dequant.f32");
    REQUIRE(bytes.size() % Fmt::block_bytes == 0);
    const std::size_t n = bytes.size() / Fmt::block_bytes * Fmt::block_size;
    REQUIRE(want.size() == n);
    std::vector<float> got(n);
    lowbit::dequantize_row(reinterpret_cast<const typename Fmt::block*>(bytes.data()), n, got.data(), backend{});
    for (std::size_t i = 0; i < n; ++i)
        LOWBIT_REQUIRE_CAPTURE(same_float(got[i], want[i]), Fmt::name(), i / golden_row, i % golden_row, got[i], want[i]);
}

TEMPLATE_LIST_TEST_CASE("codebook formats: every bit of a block is a field; grid entries index their levels", "[golden][lattice]",
                        lattice_formats) {
    using Fmt = TestType;
    constexpr int entries = static_cast<int>(sizeof(Fmt::grid) / sizeof(Fmt::grid[0]));
    for (int e = 0; e < entries; ++e)
        for (int j = 0; j < Fmt::grid_width; ++j)
            LOWBIT_REQUIRE_CAPTURE(lowbit::arch::ref::grid_level<Fmt>(e, j) < lowbit::arch::ref::level_count<Fmt>,
                                   Fmt::name(), e, j);
    std::mt19937 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        typename Fmt::block b, again;
        fill_bytes(&b, sizeof b, rng());
        lowbit::iq_fields f;
        Fmt::unpack(b, f);
        Fmt::pack(f, again);
        LOWBIT_REQUIRE_CAPTURE(std::memcmp(&b, &again, sizeof b) == 0, Fmt::name(), trial);
    }
}
