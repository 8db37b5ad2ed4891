// lowbit::calibration from the package: statistics of a few activation rows, then gptq on one row.
#include <lowbit/calibration.hpp>
#include <lowbit/q4.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    const std::size_t cols = 64, tokens = 16;
    std::vector<float> x(tokens * cols), w(cols);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 11) - 5.0f;
    for (std::size_t i = 0; i < cols; ++i) w[i] = static_cast<float>((i * 13) % 7) - 3.0f;
    lowbit::calibration_stats stats(cols);
    stats.add(lowbit::matrix_view<const float>(x.data(), tokens, cols));
    lowbit::quant_options o;
    o.method = lowbit::quant_method::gptq;
    o.calibration = &stats;
    std::vector<lowbit::q4_0::block> q(cols / 32);
    lowbit::quantize_row(w.data(), cols, q.data(), o);
    std::vector<float> y(cols);
    lowbit::dequantize_row(q.data(), cols, y.data());
    std::printf("consumer_calibration: gptq row, y[1] = %g (w[1] = %g)\n", y[1], w[1]);
    double err = 0;
    for (std::size_t i = 0; i < cols; ++i) err = std::fmax(err, std::fabs(y[i] - w[i]));
    return err <= 1.0 ? 0 : 1;  // 4-bit codes of values in [-3, 3]
}
