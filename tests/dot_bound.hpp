#pragma once
// api.hpp's bound on how far a backend's dot product may be from the scalar reference's, shared by the tests
// and the fuzzers (fuzz/fuzz_decode_dot.cpp).
#include <lowbit/lowbit.hpp>

#include <cmath>
#include <cstddef>

namespace lowbit_test {

/// The magnitudes of a block's scale products, as api.hpp's dot bound counts them: the d-term and the min term
/// separately, since they may cancel. Each is the reference's one-block dot with the other scale zeroed.
template <class WBlock, class ABlock>
double scale_product_magnitude(const WBlock& w, const ABlock& a) {
    using Fmt = typename WBlock::format;
    const auto one_block = [&](const WBlock& b) {
        return std::fabs(static_cast<double>(lowbit::arch::dot_blocks(&b, &a, 1, lowbit::scalar{})));
    };
    if constexpr (Fmt::has_min) {
        WBlock d_only = w, min_only = w;
        min_only.d.set_bits(0);
        if constexpr (Fmt::block_size == 32) d_only.m.set_bits(0);
        else d_only.dmin.set_bits(0);
        return one_block(d_only) + one_block(min_only);
    } else {
        return one_block(w);
    }
}

/// The sum of scale_product_magnitude over nblocks blocks.
template <class WBlock, class ABlock>
double scale_magnitude(const WBlock* w, const ABlock* a, std::size_t nblocks) {
    double magnitude = 0.0;
    for (std::size_t b = 0; b < nblocks; ++b) magnitude += scale_product_magnitude(w[b], a[b]);
    return magnitude;
}

/// factor (nblocks + 2) (2^-24 magnitude + 2^-149): api.hpp's bound for factor 2 (dot_blocks against the
/// reference); twice that between two summation orders that each keep the bound.
inline double dot_bound(double magnitude, std::size_t nblocks, double factor = 2.0) {
    return factor * static_cast<double>(nblocks + 2) * (std::ldexp(1.0, -24) * magnitude + std::ldexp(1.0, -149));
}

}  // namespace lowbit_test
