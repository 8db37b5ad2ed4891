// A decode loop over a quantized KV cache: each step appends the new token's keys and values (here random, in a
// model the K and V projections) and attends with its query, the way a runtime's attention layer would. Prints the
// cache's bytes per token and how far the q8_0-key / q4_0-value cache's output is from an f16 cache's.
#include <lowbit/attention.hpp>
#include <lowbit/thread_pool.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
    // Llama-3-8B's attention shape: 32 query heads share 8 KV heads of 128 values (GQA 4).
    const std::size_t heads = 32, kv_heads = 8, dim = 128, context = 256;
    lowbit::kv_cache<lowbit::q8_0, lowbit::q4_0> cache(kv_heads, dim, context);
    lowbit::kv_cache<lowbit::f16, lowbit::f16> baseline(kv_heads, dim, context);
    lowbit::thread_pool pool(2);

    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> k(kv_heads * dim), v(kv_heads * dim), q(heads * dim), out(heads * dim), ref(heads * dim);
    double err = 0.0, norm = 0.0;
    for (std::size_t token = 0; token < context; ++token) {
        for (float& x : k) x = normal(rng);
        for (float& x : v) x = normal(rng);
        for (float& x : q) x = normal(rng);
        cache.append(k.data(), v.data());  // one token: kv_heads x dim keys and values
        baseline.append(k.data(), v.data());
        lowbit::attention(cache, q.data(), 1, heads, out.data(), {}, pool);  // the new token attends to all so far
        lowbit::attention(baseline, q.data(), 1, heads, ref.data(), {}, pool);
        for (std::size_t i = 0; i < out.size(); ++i) err += (out[i] - ref[i]) * (out[i] - ref[i]), norm += ref[i] * ref[i];
    }
    std::printf("KV cache bytes per token: q8_0 keys + q4_0 values %zu, f16 %zu\n",
                cache.bytes_per_token(kv_heads, dim), baseline.bytes_per_token(kv_heads, dim));
    const double rel = std::sqrt(err / norm);
    std::printf("%zu decode steps: relative RMS difference from the f16 cache %.4f\n", context, rel);
    return rel < 0.1 ? 0 : 1;
}
