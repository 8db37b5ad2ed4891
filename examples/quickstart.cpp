// lowbit quickstart: quantize a float weight matrix to q4_0, dequantize it back, and multiply it by a vector
// of activations quantized to q8_0 (q4_0's activation format), printing the error of each step.
#include <lowbit/lowbit.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
    const std::size_t rows = 64, cols = 1024;  // cols: a multiple of the 32-value block
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> w(rows * cols), x(cols);
    for (float& v : w) v = normal(rng);
    for (float& v : x) v = normal(rng);

    // Weights: rows x cols floats -> rows of q4_0 blocks (18 bytes per 32 weights) -> floats again.
    std::vector<lowbit::q4_0::block> qw(rows * cols / lowbit::q4_0::block_size);
    std::vector<float> w2(rows * cols);
    lowbit::quantize(lowbit::matrix_view<const float>(w.data(), rows, cols),
                     lowbit::qmatrix_view<lowbit::q4_0>(qw.data(), rows, cols));
    lowbit::dequantize(lowbit::const_qmatrix_view<lowbit::q4_0>(qw.data(), rows, cols),
                       lowbit::matrix_view<float>(w2.data(), rows, cols));

    // Activations: one row of q8_0 blocks; then y = W x with integer dot products per block.
    std::vector<lowbit::q8_0::block> qx(cols / lowbit::q8_0::block_size);
    lowbit::quantize_row(x.data(), cols, qx.data());

    double w_err = 0.0, w_norm = 0.0, y_err = 0.0, y_norm = 0.0;
    for (std::size_t i = 0; i < rows * cols; ++i) {
        w_err += (w2[i] - w[i]) * (w2[i] - w[i]);
        w_norm += w[i] * w[i];
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const float y = lowbit::dot(qw.data() + r * cols / lowbit::q4_0::block_size, qx.data(), cols);
        double exact = 0.0;
        for (std::size_t c = 0; c < cols; ++c) exact += static_cast<double>(w[r * cols + c]) * x[c];
        y_err += (y - exact) * (y - exact);
        y_norm += exact * exact;
    }
    std::printf("lowbit %s, backend %s\n", LOWBIT_VERSION_STRING, lowbit::backend_description<lowbit::default_backend>());
    std::printf("q4_0 weights: %zu bytes instead of %zu (%.1f bits per weight)\n", qw.size() * sizeof(qw[0]),
                w.size() * sizeof(float), lowbit::q4_0::bits_per_weight);
    std::printf("relative RMS error of the dequantized weights: %.4f\n", std::sqrt(w_err / w_norm));
    std::printf("relative RMS error of W x (q4_0 x q8_0):       %.4f\n", std::sqrt(y_err / y_norm));
    return std::sqrt(y_err / y_norm) < 0.2 ? 0 : 1;
}
