// fuzz_roundtrip: the fuzzer's bytes become floats (NaN, +-Inf, subnormals and huge values included) and go
// through lowbit::quantize_row for every format of lowbit::all_formats, on the AVX2 backend. Either the call
// throws lowbit::error, and then only for a rule it documents (a non-finite input, named by its index, or a
// block whose scale overflows fp16, named by its number), or it succeeds, and then
//   - the bytes equal those of the scalar reference;
//   - dequantize_row gives the scalar reference's floats bit for bit;
//   - every value's round-trip error is within the bound derived below for its format.
//
// Input: byte 0 = mode (bit 0: 1 = the rest is raw little-endian float32; 0 = the rest is int16 values scaled
// by 2^(byte 1 - 160), which reaches fp16-subnormal and overflowing scales without being mostly NaN) and the
// output's byte offset (bits 1..6).
#include "fuzz_common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using lowbit_fuzz::exact_bytes;

/// Largest error of storing v as fp16 when that does not overflow: half an ulp (2^-11 relative) for normal
/// halves, 2^-25 absolute below 2^-14 (subnormal halves, and flushing to zero below 2^-25).
double fp16_rounding(double v) { return std::max(std::fabs(v) * 0x1p-11, 0x1p-25); }

void require_within(const char* name, std::size_t j, float x, float y, double bound) {
    LOWBIT_FUZZ_REQUIRE(std::fabs(static_cast<double>(x) - static_cast<double>(y)) <= bound,
                        "%s value %zu: x = %a, y = %a, |x - y| = %g > bound %g", name, j, static_cast<double>(x),
                        static_cast<double>(y), std::fabs(static_cast<double>(x) - y), bound);
}

double block_amax(const float* x, std::size_t n) {
    double amax = 0.0;
    for (std::size_t j = 0; j < n; ++j) amax = std::max(amax, std::fabs(static_cast<double>(x[j])));
    return amax;
}

// Error bounds. Notation: D is the ideal scale computed exactly in double, dh the stored fp16 scale, y the
// dequantized float. Each bound is: quantization error (half a step, or one step where the code range clamps)
// with 2^-16 of a step for the float rounding of d, 1/d and x * (1/d); plus (largest code) * |D - dh| for
// storing the scale as fp16 (this also covers a scale flushed to zero: then y = 0 or the min, and the
// error is at most amax or the range); plus 2^-24 |y| (and 2^-149 in the float-subnormal range) for
// rounding the product d * code.

// Symmetric 4/5-bit (q4_0, q5_0), zero point Z: d = m / -Z with m the value of largest magnitude, so D =
// amax / Z. Values with x / d >= Z - 1/2 would need code 2Z, which does not exist: the top code 2Z - 1 is one
// full step away (x = -m comes back as -m (Z - 1) / Z), so they get s = 1 instead of 1/2.
template <class Block>
void check_symmetric(const char* name, const float* x, const Block& q, const float* y, int zero) {
    const double amax = block_amax(x, 32);
    const double D = amax / zero, dh = std::fabs(static_cast<double>(lowbit::load_half(q.d)));
    const auto m = lowbit::arch::ref::find_signed_absmax(x, 32).value;
    for (std::size_t j = 0; j < 32; ++j) {
        const double t = m != 0.0f ? static_cast<double>(x[j]) * -zero / m : 0.0;  // x / d
        const double s = t >= zero - 0.5 - 0x1p-10 ? 1.0 : 0.5;
        const double bound = D * (s + 0x1p-16) + zero * std::fabs(D - dh) + 0x1p-24 * std::fabs(y[j]) + 0x1p-149;
        require_within(name, j, x[j], y[j], bound);
    }
}

// Asymmetric 4/5-bit (q4_1, q5_1), largest code C: d = (max - min) / C, min stored as fp16 mh. No clamping:
// (x - min) / d <= C up to rounding. y = float(dh * code) + mh adds the rounding of dh * code and of the sum.
template <class Block>
void check_asymmetric(const char* name, const float* x, const Block& q, const float* y, int max_code) {
    const double lo = *std::min_element(x, x + 32), hi = *std::max_element(x, x + 32);
    const double D = (hi - lo) / max_code, dh = lowbit::load_half(q.d), mh = lowbit::load_half(q.m);
    for (std::size_t j = 0; j < 32; ++j) {
        const double bound = D * (0.5 + 0x1p-16) + max_code * std::fabs(D - dh) + std::fabs(lo - mh) +
                             0x1p-24 * (dh * max_code + std::fabs(y[j])) + 0x1p-149;
        require_within(name, j, x[j], y[j], bound);
    }
}

// q8_0 / q8_1: d = amax / 127, code = round(x / d) in [-127, 127] (no clamping). Returns D.
template <class Block>
double check_q8(const char* name, const float* x, const Block& q, const float* y) {
    const double D = block_amax(x, 32) / 127.0, dh = std::fabs(static_cast<double>(lowbit::load_half(q.d)));
    for (std::size_t j = 0; j < 32; ++j) {
        const double bound = D * (0.5 + 0x1p-14) + 127.0 * std::fabs(D - dh) + 0x1p-24 * std::fabs(y[j]) + 0x1p-149;
        require_within(name, j, x[j], y[j], bound);
    }
    return D;
}

void check_block(const char* name, const float* x, const lowbit::q4_0::block& q, const float* y) {
    check_symmetric(name, x, q, y, 8);
}
void check_block(const char* name, const float* x, const lowbit::q5_0::block& q, const float* y) {
    check_symmetric(name, x, q, y, 16);
}
void check_block(const char* name, const float* x, const lowbit::q4_1::block& q, const float* y) {
    check_asymmetric(name, x, q, y, 15);
}
void check_block(const char* name, const float* x, const lowbit::q5_1::block& q, const float* y) {
    check_asymmetric(name, x, q, y, 31);
}
void check_block(const char* name, const float* x, const lowbit::q8_0::block& q, const float* y) {
    check_q8(name, x, q, y);
}
// q8_1 also stores s = fp16(float(sum of codes) * d): within the float rounding of d and the product, plus
// fp16's rounding of s.
void check_block(const char* name, const float* x, const lowbit::q8_1::block& q, const float* y) {
    const double D = check_q8(name, x, q, y);
    int sum = 0;
    for (std::int8_t c : q.qs) sum += c;
    const double ideal = sum * D, s = lowbit::load_half(q.s);
    const double bound = std::fabs(ideal) * 0x1p-21 + fp16_rounding(ideal * (1 + 0x1p-21));
    LOWBIT_FUZZ_REQUIRE(std::fabs(s - ideal) <= bound, "%s: s = %a but sum %d * d = %a (bound %g)", name, s, sum,
                        ideal, bound);
}

// iq4_nl: d = m / -127 stored as fp16 dh, D = amax / 127, codes the nearest table value to x / dh. Inside the
// table the largest half gap is 12 steps, but x = -m lands on +127 where the table ends at 113: 14 steps of dh; and
// |x / dh| exceeds 127 by at most 127 |D - |dh|| / |dh| (fp16's rounding, or a scale flushed to zero: y = 0).
void check_block(const char* name, const float* x, const lowbit::iq4_nl::block& q, const float* y) {
    const double D = block_amax(x, 32) / 127.0, dh = std::fabs(static_cast<double>(lowbit::load_half(q.d)));
    for (std::size_t j = 0; j < 32; ++j) {
        const double bound = 14.0 * dh * (1 + 0x1p-16) + 127.0 * std::fabs(D - dh) * (1 + 0x1p-20) +
                             0x1p-24 * std::fabs(y[j]) + 0x1p-149;
        require_within(name, j, x[j], y[j], bound);
    }
}

// mxfp4: d = 2^(e - 128) with amax / d in [8, 16) (or below 8 when e is clamped to 0); the doubled E2M1 values
// are 0 1 2 3 4 6 8 12, so a value within the table is at most 2 steps from its code (between 8 and 12), and one
// beyond 12 at most 4 (16 - 12). y = value * d is exact.
void check_block(const char* name, const float* x, const lowbit::mxfp4::block& q, const float* y) {
    const double d = lowbit::mxfp4::scale(q);
    LOWBIT_FUZZ_REQUIRE(q.e == 0 || block_amax(x, 32) >= 8.0 * d, "%s: exponent %d too large for amax %a", name,
                        q.e, block_amax(x, 32));
    for (std::size_t j = 0; j < 32; ++j) require_within(name, j, x[j], y[j], 4.0 * d * (1 + 0x1p-20) + 0x1p-149);
}

// Formats without a derived bound (added after this file): a sanity check only. Values come back finite and
// within 4 amax of the block (2 amax covers any sane reconstruction; fp16 rounding of a subnormal scale can
// nearly double it).
template <class Block>
void check_block(const char* name, const float* x, const Block&, const float* y) {
    constexpr std::size_t n = Block::format::block_size;
    const double amax = block_amax(x, n);
    for (std::size_t j = 0; j < n; ++j) require_within(name, j, x[j], y[j], 4.0 * amax);
}

template <class Fmt>
void roundtrip(const std::vector<float>& values, std::size_t out_offset) {
    using block = typename Fmt::block;
    const char* name = Fmt::name();
    const std::size_t nblocks = values.size() / Fmt::block_size, n = nblocks * Fmt::block_size;
    if (values.size() != n) {
        try {
            lowbit::quantize_row(values.data(), values.size(), static_cast<block*>(nullptr));
            LOWBIT_FUZZ_REQUIRE(false, "%s: a length of %zu values was accepted", name, values.size());
        } catch (const lowbit::error& e) {
            LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::contains(e.what(), "is not a multiple of the"), "%s: %s", name, e.what());
        }
    }
    if (nblocks == 0) return;
    // Exact-size copies: the input floats and the output blocks end where their heap allocations end.
    std::vector<float> x(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n));
    exact_bytes got(nblocks * Fmt::block_bytes, out_offset), want(nblocks * Fmt::block_bytes, 0);

    std::string message;
    try {
        lowbit::quantize_row(x.data(), n, got.as<block>());
    } catch (const lowbit::error& e) {
        message = e.what();
        LOWBIT_FUZZ_REQUIRE(!message.empty(), "%s: empty error message", name);
    }

    const auto bad_input = std::find_if(x.begin(), x.end(), [](float v) { return !std::isfinite(v); });
    if (bad_input != x.end()) {
        const std::string rule = std::string("quantize_row(") + name + "): input " +
                                 std::to_string(bad_input - x.begin()) + " is ";
        LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::contains(message, rule) &&
                                lowbit_fuzz::contains(message, "only finite values can be quantized"),
                            "%s: expected \"%s...\", got \"%s\"", name, rule.c_str(), message.c_str());
        return;
    }

    lowbit::arch::quantize_blocks(x.data(), want.as<block>(), nblocks, lowbit::scalar{});
    for (std::size_t b = 0; b < nblocks; ++b) {
        if (Fmt::finite_scales(want.as<block>()[b])) continue;
        const std::string rule = std::string("quantize_row(") + name + "): block " + std::to_string(b) + " ";
        LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::contains(message, rule) &&
                                lowbit_fuzz::contains(message, "needs a scale beyond fp16's range"),
                            "%s: expected \"%s...\", got \"%s\"", name, rule.c_str(), message.c_str());
        return;
    }
    LOWBIT_FUZZ_REQUIRE(message.empty(), "%s: unexpected error \"%s\"", name, message.c_str());
    for (std::size_t b = 0; b < nblocks; ++b)
        LOWBIT_FUZZ_REQUIRE(std::memcmp(got.as<block>() + b, want.as<block>() + b, sizeof(block)) == 0,
                            "%s: block %zu differs from the scalar reference", name, b);

    std::vector<float> y(n), y_ref(n);
    lowbit::dequantize_row(got.as<const block>(), n, y.data());
    lowbit::dequantize_row(got.as<const block>(), n, y_ref.data(), lowbit::scalar{});
    for (std::size_t i = 0; i < n; ++i)
        LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::same_float(y[i], y_ref[i]), "%s: value %zu dequantizes to %a, reference %a",
                            name, i, static_cast<double>(y[i]), static_cast<double>(y_ref[i]));
    for (std::size_t b = 0; b < nblocks; ++b) {
        const std::size_t first = b * Fmt::block_size;
        check_block(name, x.data() + first, got.as<const block>()[b], y.data() + first);
    }
}

std::vector<float> decode_values(lowbit_fuzz::input& in, bool raw) {
    std::vector<float> values;
    if (raw) {
        values.resize(in.remaining() / 4);
        if (!values.empty()) std::memcpy(values.data(), in.rest(), values.size() * 4);
    } else {
        const int exponent = static_cast<int>(in.byte()) - 160;
        values.resize(in.remaining() / 2);
        for (float& v : values) {
            const auto lo = in.byte(), hi = in.byte();
            v = std::ldexp(static_cast<float>(static_cast<std::int16_t>(lo | hi << 8)), exponent);
        }
    }
    return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    lowbit_fuzz::input in(data, size);
    const std::uint8_t mode = in.byte();
    const std::vector<float> values = decode_values(in, (mode & 1) != 0);
    lowbit_fuzz::for_each_type(lowbit::all_formats{}, [&](auto tag) {
        using Fmt = typename decltype(tag)::type;
        // Not the trellis formats: their Viterbi search takes seconds per block under the fuzzer's instrumentation
        // (3 inputs a second for all formats). Its arithmetic is integer and bounded for any finite input (targets
        // clamped to +-512, weights to 2^12), the checked API's input rules are the other formats', and the
        // sanitized suite quantizes every data kind (huge, tiny, subnormal, zeros, ties) with them.
        if constexpr (!lowbit::arch::ref::trellis_format<typename Fmt::block>::value)
            roundtrip<Fmt>(values, (mode >> 1) & 63);
    });
    return 0;
}
