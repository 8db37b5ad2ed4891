// Quantizes a row to q4_0, its activations to q8_0, and checks their dot product against the float one.
#include <lowbit/lowbit.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    constexpr std::size_t n = 256;
    std::vector<float> w(n), x(n);
    double want = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        w[i] = std::sin(0.37f * static_cast<float>(i));
        x[i] = std::cos(0.11f * static_cast<float>(i));
        want += static_cast<double>(w[i]) * x[i];
    }
    std::vector<lowbit::q4_0::block> qw(n / lowbit::q4_0::block_size);
    std::vector<lowbit::q8_0::block> qx(n / lowbit::q8_0::block_size);
    lowbit::quantize_row(w.data(), n, qw.data());
    lowbit::quantize_row(x.data(), n, qx.data());
    const float got = lowbit::dot(qw.data(), qx.data(), n);
    std::printf("lowbit %s, backend %s: dot %.4f, float dot %.4f\n", LOWBIT_VERSION_STRING,
                lowbit::backend_description<lowbit::default_backend>(), got, want);
    return std::fabs(got - want) < 0.05 * n / 16 ? 0 : 1;  // q4_0 keeps about 1/16 of each weight's range
}
