#pragma once
/// \file tools/synthetic_activations.hpp
/// Calibration data for the tests and benchmarks of calibration.hpp (seqmse, gptq): activation rows shaped like
/// a transformer layer's inputs. Channels are correlated (tokens are mixtures of cols / 8 directions whose
/// strengths fall as 1 / sqrt(k), plus 10% independent noise), and a few outlier channels (one in 128, at least
/// 2) are 20 to 100 times larger than the rest, as in LLM activations (LLM.int8(), SmoothQuant). Deterministic for
/// a seed, on every platform (own generator and Box-Muller; Eigen's float product may round the last bit
/// differently between builds).
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lowbit::tools {

/// A small deterministic generator (splitmix64), the same everywhere, unlike std::normal_distribution.
class test_random {
public:
    explicit test_random(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    /// Uniform in (0, 1).
    double uniform() noexcept { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
    float normal() noexcept {
        return static_cast<float>(std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()));
    }

private:
    std::uint64_t m_state;
};

/// tokens x cols activation floats, row-major (see the file comment).
inline std::vector<float> synthetic_activations(std::size_t tokens, std::size_t cols, std::uint64_t seed) {
    using rows_f = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    test_random rng(seed);
    const auto t = static_cast<Eigen::Index>(tokens), c = static_cast<Eigen::Index>(cols);
    const Eigen::Index k = std::max<Eigen::Index>(1, c / 8);
    rows_f directions(k, c), mix(t, k);
    for (Eigen::Index i = 0; i < k; ++i)
        for (Eigen::Index j = 0; j < c; ++j) directions(i, j) = rng.normal() / std::sqrt(static_cast<float>(i + 1));
    for (Eigen::Index i = 0; i < t; ++i)
        for (Eigen::Index j = 0; j < k; ++j) mix(i, j) = rng.normal();
    std::vector<float> scale(cols, 1.0f);
    for (std::size_t o = 0; o < std::max<std::size_t>(2, cols / 128); ++o)
        scale[rng.next() % cols] = static_cast<float>(20.0 + 80.0 * rng.uniform());
    std::vector<float> x(tokens * cols);
    Eigen::Map<rows_f> out(x.data(), t, c);
    out.noalias() = mix * directions;
    const float noise = 0.1f * std::sqrt(static_cast<float>(out.squaredNorm() / static_cast<double>(x.size() ? x.size() : 1)));
    for (Eigen::Index i = 0; i < t; ++i)
        for (Eigen::Index j = 0; j < c; ++j)
            out(i, j) = (out(i, j) + noise * rng.normal()) * scale[static_cast<std::size_t>(j)];
    return x;
}

}  // namespace lowbit::tools
