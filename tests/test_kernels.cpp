// Every backend against the scalar reference, in the same binary: quantized bytes and dequantized floats must
// be identical; dot products identical in their integer block sums and within the documented float bound.
// Lengths of 1 to 9 blocks (SIMD kernels that take several blocks at once must handle every tail) and inputs
// and outputs at byte offsets 0..63 (floats at multiples of 4 bytes, since a float* must be float-aligned).
#include "dot_bound.hpp"
#include "test_common.hpp"

#include <cmath>

using namespace lowbit_test;

TEMPLATE_LIST_TEST_CASE("quantize_blocks is bit-exact with the scalar reference", "[kernels][quantize]", all_formats) {
    using Fmt = TestType;
    using block = typename Fmt::block;
    // Each length with each input offset and, across those, each output offset: every pair of the three meets.
    const std::size_t nblocks = GENERATE(range(1, 10));
    const std::size_t in_index = GENERATE(range(0, 5));
    const std::size_t in_offset = 4 * pick({0, 1, 3, 7, 15}, in_index);
    const std::size_t out_offset = pick({0, 1, 2, 31, 63}, nblocks + 2 * in_index);
    const std::size_t n = nblocks * Fmt::block_size;
    for (data_kind kind : all_data_kinds) {
        offset_buffer<float> x(n, in_offset);
        fill(x.data(), n, kind, static_cast<std::uint32_t>(nblocks * 131 + static_cast<int>(kind)));
        offset_buffer<block> got(nblocks, out_offset), want(nblocks, 0);
        lowbit::arch::quantize_blocks(x.data(), got.data(), nblocks, backend{});
        lowbit::arch::quantize_blocks(x.data(), want.data(), nblocks, lowbit::scalar{});
        CAPTURE(Fmt::name(), nblocks, in_offset, out_offset, static_cast<int>(kind));
        for (std::size_t b = 0; b < nblocks; ++b) {
            CAPTURE(b);
            REQUIRE(std::memcmp(&got[b], &want[b], sizeof(block)) == 0);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("dequantize_blocks is bit-exact for every bit pattern", "[kernels][dequantize]", all_formats) {
    using Fmt = TestType;
    using block = typename Fmt::block;
    const std::size_t nblocks = GENERATE(range(1, 10));
    const std::size_t in_index = GENERATE(range(0, 4));
    const std::size_t in_offset = pick({0, 1, 17, 63}, in_index);
    const std::size_t out_offset = 4 * pick({0, 1, 5, 15}, nblocks + in_index);
    const std::size_t n = nblocks * Fmt::block_size;
    offset_buffer<block> x(nblocks, in_offset);
    fill_bytes(x.data(), x.bytes(), static_cast<std::uint32_t>(nblocks * 7 + in_offset));  // Inf/NaN scales too
    offset_buffer<float> got(n, out_offset), want(n, 0);
    lowbit::arch::dequantize_blocks(x.data(), got.data(), nblocks, backend{});
    lowbit::arch::dequantize_blocks(x.data(), want.data(), nblocks, lowbit::scalar{});
    CAPTURE(Fmt::name(), nblocks, in_offset, out_offset);
    for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i, got[i], want[i]);
        REQUIRE(same_float(got[i], want[i]));
    }
}

namespace {

// Formats with their own test hooks (the K formats and q8_K, see format/kquant_common.hpp) set their scales.
template <class Fmt, class = void>
struct has_scale_hooks : std::false_type {};
template <class Fmt>
struct has_scale_hooks<Fmt, std::void_t<decltype(Fmt::set_unit_scales(std::declval<typename Fmt::block&>(),
                                                                       std::declval<std::mt19937&>()))>>
    : std::true_type {};

template <class Block>
void set_unit_scales(Block& b, std::mt19937& rng) {
    if constexpr (has_scale_hooks<typename Block::format>::value) {
        Block::format::set_unit_scales(b, rng);
    } else if constexpr (std::is_same<Block, lowbit::mxfp4::block>::value) {
        b.e = 128;  // 2^0
    } else {
        b.d.set_bits(0x3C00);  // 1.0
        if constexpr (std::is_same<Block, lowbit::q4_1::block>::value || std::is_same<Block, lowbit::q5_1::block>::value)
            lowbit::store_half(b.m, static_cast<float>(static_cast<int>(rng() % 33) - 16));
        if constexpr (std::is_same<Block, lowbit::q8_1::block>::value)
            lowbit::store_half(b.s, static_cast<float>(static_cast<int>(rng() % 129) - 64));
    }
}

// A random finite scale in [2^-8, 2^2), either sign.
inline std::uint16_t random_scale(std::mt19937& rng) {
    return static_cast<std::uint16_t>((rng() & 0x8000u) | ((rng() % 10 + 7) << 10) | (rng() & 0x3FFu));
}

template <class Block>
void set_random_scales(Block& b, std::mt19937& rng) {
    if constexpr (has_scale_hooks<typename Block::format>::value) {
        Block::format::set_random_scales(b, rng);
    } else if constexpr (std::is_same<Block, lowbit::mxfp4::block>::value) {
        b.e = static_cast<std::uint8_t>(120 + rng() % 10);  // 2^-8 .. 2^1
    } else {
        b.d.set_bits(random_scale(rng));
        if constexpr (std::is_same<Block, lowbit::q4_1::block>::value || std::is_same<Block, lowbit::q5_1::block>::value)
            b.m.set_bits(random_scale(rng));
        if constexpr (std::is_same<Block, lowbit::q8_1::block>::value) b.s.set_bits(random_scale(rng));
    }
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("dot_blocks: exact integer sums, float sum within the documented bound", "[kernels][dot]",
                        weight_formats) {
    using Fmt = TestType;
    using wblock = typename Fmt::block;
    using ablock = typename Fmt::activation::block;
    const std::size_t nblocks = GENERATE(range(1, 10), 16, 33);
    const std::size_t w_index = GENERATE(range(0, 4));
    const std::size_t w_offset = pick({0, 1, 19, 63}, w_index);
    const std::size_t a_offset = pick({0, 3, 32}, nblocks + w_index);
    offset_buffer<wblock> w(nblocks, w_offset);
    offset_buffer<ablock> a(nblocks, a_offset);
    std::mt19937 rng(static_cast<std::uint32_t>(nblocks * 1009 + w_offset * 13 + a_offset));
    fill_bytes(w.data(), w.bytes(), rng());
    fill_bytes(a.data(), a.bytes(), rng());
    CAPTURE(Fmt::name(), nblocks, w_offset, a_offset);

    SECTION("unit scales: every term is an integer, so the float result is exact and must match bit for bit") {
        for (std::size_t b = 0; b < nblocks; ++b) {
            set_unit_scales(w[b], rng);
            set_unit_scales(a[b], rng);
        }
        const float got = lowbit::arch::dot_blocks(w.data(), a.data(), nblocks, backend{});
        const float want = lowbit::arch::dot_blocks(w.data(), a.data(), nblocks, lowbit::scalar{});
        REQUIRE(same_float(got, want));
    }
    SECTION("random scales: |got - want| <= 2 (nblocks + 2) 2^-24 sum |block scale products| (api.hpp)") {
        for (std::size_t b = 0; b < nblocks; ++b) {
            set_random_scales(w[b], rng);
            set_random_scales(a[b], rng);
        }
        const float got = lowbit::arch::dot_blocks(w.data(), a.data(), nblocks, backend{});
        const float want = lowbit::arch::dot_blocks(w.data(), a.data(), nblocks, lowbit::scalar{});
        const double magnitude = lowbit_test::scale_magnitude(w.data(), a.data(), nblocks);
        const double bound = lowbit_test::dot_bound(magnitude, nblocks);
        CAPTURE(got, want, bound);
        REQUIRE(std::fabs(static_cast<double>(got) - want) <= bound);
    }
}
