// fuzz_decode_dot: the fuzzer's bytes become blocks (any bit pattern: Inf/NaN and subnormal fp16 scales,
// every code) of every format of lowbit::all_formats, in exact-size heap buffers at byte offsets 0..63.
//   - dequantize_row on the AVX2 backend gives the scalar reference's floats bit for bit (or NaN for NaN);
//   - dot (weight formats, activations from the same bytes) matches the reference: with finite block terms
//     within api.hpp's bound 2 (nblocks + 2) 2^-24 sum |term|; otherwise the IEEE class that does not depend
//     on summation order (NaN if a term is NaN or terms are +Inf and -Inf, else the sign of the Inf terms);
//     except that any result is accepted once the float arithmetic overflows with finite scales (a block term
//     that is not finite, or sum |term| >= 2^127): then the result depends on how each backend associates
//     the products (q8_K's float32 scale reaches 2^121; see fuzz/corpus/fuzz_decode_dot/q5_K_term_overflow).
//     The codebook formats multiply the row's sum by their dot_factor (1/8, 1/4: gguf's order) at the end, so
//     their sum overflows at sum |term| >= 2^127 dot_factor (fuzz/regressions/fuzz_decode_dot/iq1_s_sum_overflow).
// ASan checks that neither reads or writes past its buffers.
//
// Input: byte 0 = the blocks' byte offset (bits 0..5), byte 1 = the activations' byte offset (bits 0..5) and
// the output floats' offset in floats (bits 6..7); the rest is block bytes (for dot: weights, then activations,
// fixed up to meet dot's preconditions).
#include "../tests/dot_bound.hpp"
#include "fuzz_common.hpp"

#include <cmath>
#include <vector>

namespace {

using lowbit_fuzz::exact_bytes;

struct offsets {
    std::size_t blocks, activations, floats;
};

template <class Fmt>
void decode(lowbit_fuzz::input in, offsets at) {
    using block = typename Fmt::block;
    const std::size_t nblocks = in.remaining() / Fmt::block_bytes, n = nblocks * Fmt::block_size;
    exact_bytes x(nblocks * Fmt::block_bytes, at.blocks);
    if (x.size()) std::memcpy(x.data(), in.rest(), x.size());
    exact_bytes y(n * sizeof(float), at.floats * sizeof(float));
    std::vector<float> y_ref(n);
    lowbit::dequantize_row(x.as<const block>(), n, y.as<float>());
    lowbit::dequantize_row(x.as<const block>(), n, y_ref.data(), lowbit::scalar{});
    for (std::size_t i = 0; i < n; ++i)
        LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::same_float(y.as<float>()[i], y_ref[i]),
                            "%s: value %zu dequantizes to %a, reference %a", Fmt::name(), i,
                            static_cast<double>(y.as<float>()[i]), static_cast<double>(y_ref[i]));
}

/// The result's class when it does not depend on the order of summation (see the file comment).
enum class ieee_class { finite, nan, plus_inf, minus_inf };

ieee_class classify(float v) {
    if (std::isnan(v)) return ieee_class::nan;
    if (std::isinf(v)) return v > 0 ? ieee_class::plus_inf : ieee_class::minus_inf;
    return ieee_class::finite;
}

ieee_class sum_class(const std::vector<float>& terms) {
    bool plus = false, minus = false;
    for (float t : terms) {
        if (std::isnan(t)) return ieee_class::nan;
        plus |= t == INFINITY;
        minus |= t == -INFINITY;
    }
    if (plus && minus) return ieee_class::nan;
    return plus ? ieee_class::plus_inf : minus ? ieee_class::minus_inf : ieee_class::finite;
}

/// What the reference multiplies the sum of the block terms by at the end: the codebook formats' dot_factor (a
/// power of two; dot_blocks of one block, a term here, includes it), else 1.
template <class Fmt>
double final_factor() {
    if constexpr (lowbit::arch::ref::lattice_format<typename Fmt::block>::value) return Fmt::dot_factor;
    else return 1.0;
}

template <class Fmt>
void dot(lowbit_fuzz::input in, offsets at) {
    using wblock = typename Fmt::block;
    using ablock = typename Fmt::activation::block;
    constexpr std::size_t wbytes = Fmt::block_bytes, abytes = Fmt::activation::block_bytes;
    const std::size_t nblocks = in.remaining() / (wbytes + abytes), n = nblocks * Fmt::block_size;
    exact_bytes w(nblocks * wbytes, at.blocks), a(nblocks * abytes, at.activations);
    if (nblocks) {
        std::memcpy(w.data(), in.rest(), w.size());
        std::memcpy(a.data(), in.rest() + w.size(), a.size());
    }
    for (std::size_t b = 0; b < nblocks; ++b) lowbit_fuzz::satisfy_preconditions(a.as<ablock>()[b]);
    const float got = lowbit::dot(w.as<const wblock>(), a.as<const ablock>(), n);
    const float want = lowbit::dot(w.as<const wblock>(), a.as<const ablock>(), n, lowbit::scalar{});

    std::vector<float> terms(nblocks);
    for (std::size_t b = 0; b < nblocks; ++b)
        terms[b] = lowbit::arch::dot_blocks(w.as<const wblock>() + b, a.as<const ablock>() + b, 1, lowbit::scalar{});
    const double magnitude = lowbit_test::scale_magnitude(w.as<const wblock>(), a.as<const ablock>(), nblocks);
    for (std::size_t b = 0; b < nblocks; ++b)
        if (!std::isfinite(terms[b]) && Fmt::finite_scales(w.as<const wblock>()[b]) &&
            Fmt::activation::finite_scales(a.as<const ablock>()[b]))
            return;
    if (magnitude >= 0x1p127 * final_factor<Fmt>()) return;
    const ieee_class expected = sum_class(terms);
    LOWBIT_FUZZ_REQUIRE(classify(want) == expected, "%s: the reference's sum %a has the wrong class", Fmt::name(),
                        static_cast<double>(want));
    LOWBIT_FUZZ_REQUIRE(classify(got) == expected, "%s: dot over %zu blocks is %a, reference %a", Fmt::name(),
                        nblocks, static_cast<double>(got), static_cast<double>(want));
    if (expected != ieee_class::finite) return;
    const double bound = lowbit_test::dot_bound(magnitude, nblocks);
    LOWBIT_FUZZ_REQUIRE(std::fabs(static_cast<double>(got) - want) <= bound,
                        "%s: dot over %zu blocks is %a, reference %a, bound %g", Fmt::name(), nblocks,
                        static_cast<double>(got), static_cast<double>(want), bound);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    lowbit_fuzz::input in(data, size);
    const std::uint8_t b0 = in.byte(), b1 = in.byte();
    const offsets at{b0 & 63u, b1 & 63u, static_cast<std::size_t>(b1 >> 6)};
    lowbit_fuzz::for_each_type(lowbit::all_formats{}, [&](auto tag) { decode<typename decltype(tag)::type>(in, at); });
    lowbit_fuzz::for_each_type(lowbit::weight_formats{}, [&](auto tag) { dot<typename decltype(tag)::type>(in, at); });
    return 0;
}
