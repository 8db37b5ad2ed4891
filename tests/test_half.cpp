// fp16 <-> fp32 conversions: exact, round-to-nearest-even, and identical to F16C where the CPU has it.
#include "test_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#if defined(__F16C__)
#include <immintrin.h>
#endif

using lowbit::bits_to_float;
using lowbit::fp16_to_fp32;
using lowbit::fp32_to_fp16;

TEST_CASE("every half converts to float and back to the same bits", "[half]") {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        const float f = fp16_to_fp32(static_cast<std::uint16_t>(h));
        const bool is_nan = (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0;
        if (is_nan) {
            LOWBIT_REQUIRE_CAPTURE(std::isnan(f), h);
            LOWBIT_REQUIRE_CAPTURE(fp32_to_fp16(f) == (h | 0x200u), h);  // quiet bit set, payload kept
        } else {
            LOWBIT_REQUIRE_CAPTURE(fp32_to_fp16(f) == h, h);
        }
    }
}

TEST_CASE("fp16_to_fp32 gives the exact value", "[half]") {
    for (std::uint32_t h = 0; h < 0x7C00u; ++h) {  // positive finite halves
        const int e = static_cast<int>(h >> 10), m = static_cast<int>(h & 0x3FF);
        const double exact = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
        LOWBIT_REQUIRE_CAPTURE(static_cast<double>(fp16_to_fp32(static_cast<std::uint16_t>(h))) == exact, h);
        LOWBIT_REQUIRE_CAPTURE(fp16_to_fp32(static_cast<std::uint16_t>(h | 0x8000u)) == static_cast<float>(-exact), h);
    }
}

TEST_CASE("fp32_to_fp16 rounds to nearest, ties to even, at every boundary", "[half]") {
    CHECK(fp32_to_fp16(65504.0f) == 0x7BFF);
    CHECK(fp32_to_fp16(65519.996f) == 0x7BFF);      // just below the midpoint to 65536
    CHECK(fp32_to_fp16(65520.0f) == 0x7C00);        // the tie rounds to even: Inf
    CHECK(fp32_to_fp16(1e10f) == 0x7C00);
    CHECK(fp32_to_fp16(-1e10f) == 0xFC00);
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);        // smallest subnormal
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);        // tie between 0 and it: even, 0
    CHECK(fp32_to_fp16(std::ldexp(1.5f, -25)) == 0x0001);
    CHECK(fp32_to_fp16(std::ldexp(3.0f, -25)) == 0x0002);        // 1.5 ulp: tie, even is 2
    CHECK(fp32_to_fp16(-std::ldexp(1.0f, -26)) == 0x8000);       // negative zero keeps its sign
    CHECK(fp32_to_fp16(std::ldexp(1023.5f, -24)) == 0x0400);     // carry from subnormal into the smallest normal
    CHECK(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00); // tie at 1.0: even
    CHECK(fp32_to_fp16(1.0f + std::ldexp(3.0f, -11)) == 0x3C02); // tie: round up to even
    CHECK(fp32_to_fp16(std::numeric_limits<float>::infinity()) == 0x7C00);
    CHECK(fp32_to_fp16(bits_to_float(0x7F800001u)) == 0x7E00);   // signalling NaN becomes quiet
    CHECK(fp32_to_fp16(bits_to_float(0xFFC02000u)) == 0xFE01);   // payload's top bits kept
}

TEST_CASE("fp32_to_fp16 agrees with rounding through double", "[half]") {
    // Every float near the half range, sampled densely: compare with a reference that rounds via double.
    std::mt19937 rng(7);
    for (int i = 0; i < 200000; ++i) {
        const std::uint32_t u = (rng() & 0x807FFFFFu) | (((rng() % 48) + 97) << 23);  // exponents 2^-30 .. 2^17
        const float f = bits_to_float(u);
        const double a = std::fabs(static_cast<double>(f));
        double want;
        if (a >= 65520.0) {
            want = HUGE_VAL;
        } else {
            const int e = std::max(std::ilogb(a), -14);
            const double ulp = std::ldexp(1.0, e - 10);
            want = std::nearbyint(a / ulp) * ulp;  // default rounding mode: ties to even
        }
        LOWBIT_REQUIRE_CAPTURE(static_cast<double>(std::fabs(fp16_to_fp32(fp32_to_fp16(f)))) == want, u);
    }
}

#if defined(__F16C__)
TEST_CASE("fp32_to_fp16 matches F16C's vcvtps2ph bit for bit", "[half]") {
    std::mt19937 rng(11);
    for (int i = 0; i < 1000000; ++i) {
        const std::uint32_t u = i < 2000 ? (0x7F800000u | rng()) : rng();  // NaN payloads first, then anything
        const float f = bits_to_float(u);
        const auto hw = static_cast<std::uint16_t>(_cvtss_sh(f, 0));
        LOWBIT_REQUIRE_CAPTURE(fp32_to_fp16(f) == hw, u);
    }
}
#endif
