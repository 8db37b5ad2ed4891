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
    // The codebook formats' grid search and the trellis formats' Viterbi search (0.1-0.6 ms per block natively, 50x
    // that under qemu; most of this suite's time there) are the reference's block by block on every backend, with
    // no SIMD quantizer: their bytes must not depend on the target's flags, which a few lengths and offsets show.
    if (slow_quantizer<block> && (nblocks > 2 || in_index > 1)) return;
    for (data_kind kind : all_data_kinds) {
        offset_buffer<float> x(n, in_offset);
        fill(x.data(), n, kind, static_cast<std::uint32_t>(nblocks * 131 + static_cast<int>(kind)));
        offset_buffer<block> got(nblocks, out_offset), want(nblocks, 0);
        lowbit::arch::quantize_blocks(x.data(), got.data(), nblocks, backend{});
        lowbit::arch::quantize_blocks(x.data(), want.data(), nblocks, lowbit::scalar{});
        CAPTURE(Fmt::name(), nblocks, in_offset, out_offset, static_cast<int>(kind));
        for (std::size_t b = 0; b < nblocks; ++b)
            LOWBIT_REQUIRE_CAPTURE(std::memcmp(&got[b], &want[b], sizeof(block)) == 0, b);
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
    for (std::size_t i = 0; i < n; ++i) LOWBIT_REQUIRE_CAPTURE(same_float(got[i], want[i]), i, got[i], want[i]);
}

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
