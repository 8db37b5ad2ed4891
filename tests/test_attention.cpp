// kv_cache.hpp and attention.hpp: the cache's bytes and checks, attention against float attention per format,
// prefill == decode and thread-count independence bit for bit, and the backend against the scalar reference within
// attention.hpp's bound.
#include "test_common.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

using namespace lowbit_test;

namespace {

template <class K, class V>
struct kv {
    using k = K;
    using v = V;
};
using every_kv_format = std::tuple<kv<lowbit::f16, lowbit::f16>, kv<lowbit::q8_0, lowbit::q8_0>,
                                   kv<lowbit::q5_1, lowbit::q5_1>, kv<lowbit::q5_0, lowbit::q5_0>,
                                   kv<lowbit::q4_1, lowbit::q4_1>, kv<lowbit::q4_0, lowbit::q4_0>,
                                   kv<lowbit::iq4_nl, lowbit::iq4_nl>, kv<lowbit::q8_0, lowbit::q4_0>,
                                   kv<lowbit::f16, lowbit::q4_1>, kv<lowbit::per_channel<lowbit::q8_0>, lowbit::q8_0>,
                                   kv<lowbit::per_channel<lowbit::q4_0>, lowbit::q4_0>,
                                   kv<lowbit::per_channel<lowbit::q4_1>, lowbit::f16>>;

template <class K>
struct rows_of {  // the format of a key format's rows
    using type = K;
};
template <class F>
struct rows_of<lowbit::per_channel<F>> {
    using type = F;
};

struct shape {
    std::size_t n_kv_heads, group, head_dim, tokens;
};

/// Keys' outlier channels: none; channels 3 and 17 of every head (one block) 10x and 100x larger than the rest
/// (`scaled`); or those channels offset by +10 and -100 (`offset`: a large constant component, which the softmax
/// does not see but per-token blocks must hold).
enum class outlier_kind { none, scaled, offset };

/// A layer's keys, values and queries as floats (token, head, value), the keys with outlier channels as real K
/// caches have them (`outliers`).
struct layer {
    shape s;
    std::vector<float> k, v, q;
    layer(shape s_, std::size_t n_queries, outlier_kind outliers, std::uint32_t seed) : s(s_) {
        const std::size_t row = s.n_kv_heads * s.head_dim;
        k.resize(s.tokens * row), v.resize(s.tokens * row), q.resize(n_queries * row * s.group);
        fill(k.data(), k.size(), data_kind::normal, seed);
        fill(v.data(), v.size(), data_kind::normal, seed + 1);
        fill(q.data(), q.size(), data_kind::normal, seed + 2);
        if (outliers == outlier_kind::scaled)
            for (std::size_t i = 0; i < k.size(); i += s.head_dim) k[i + 3] *= 10.0f, k[i + 17] *= 100.0f;
        if (outliers == outlier_kind::offset)
            for (std::size_t i = 0; i < k.size(); i += s.head_dim) k[i + 3] += 10.0f, k[i + 17] -= 100.0f;
    }
};

/// Attention in double from the float keys and values (what the cache approximates): n_queries x heads x dim.
std::vector<double> float_attention(const layer& l, std::size_t n_queries, std::size_t window) {
    const std::size_t heads = l.s.n_kv_heads * l.s.group, dim = l.s.head_dim, T = l.s.tokens;
    std::vector<double> out(n_queries * heads * dim);
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    for (std::size_t j = 0; j < n_queries; ++j) {
        const std::size_t pos = T - n_queries + j, lo = window && pos + 1 > window ? pos + 1 - window : 0;
        for (std::size_t i = 0; i < heads; ++i) {
            const std::size_t h = i / l.s.group;
            std::vector<double> p(pos + 1 - lo);
            double m = -1e300;
            for (std::size_t t = lo; t <= pos; ++t) {
                double s = 0;
                for (std::size_t d = 0; d < dim; ++d)
                    s += double(l.q[(j * heads + i) * dim + d]) * l.k[(t * l.s.n_kv_heads + h) * dim + d];
                p[t - lo] = s * scale, m = std::max(m, p[t - lo]);
            }
            double sum = 0;
            for (double& x : p) x = std::exp(x - m), sum += x;
            for (std::size_t d = 0; d < dim; ++d) {
                double o = 0;
                for (std::size_t t = lo; t <= pos; ++t) o += p[t - lo] * l.v[(t * l.s.n_kv_heads + h) * dim + d];
                out[(j * heads + i) * dim + d] = o / sum;
            }
        }
    }
    return out;
}

template <class K, class V, class Backend = backend>
lowbit::kv_cache<K, V> filled_cache(const layer& l, Backend b = {}) {
    lowbit::kv_cache<K, V> cache(l.s.n_kv_heads, l.s.head_dim, l.s.tokens + 3);
    // Appended in uneven batches: one token, then prefill-sized runs.
    std::size_t t = 0;
    const std::size_t row = l.s.n_kv_heads * l.s.head_dim;
    for (std::size_t n : {std::size_t(1), std::size_t(37), l.s.tokens}) {
        n = std::min(n, l.s.tokens - t);
        cache.append(l.k.data() + t * row, l.v.data() + t * row, n, b);
        t += n;
    }
    return cache;
}

template <class Cache, class Backend = backend, class Executor = lowbit::serial_executor>
std::vector<float> attend(const Cache& cache, const layer& l, std::size_t n_queries, std::size_t window,
                          Executor&& exec = {}, Backend b = {}) {
    const std::size_t heads = l.s.n_kv_heads * l.s.group;
    std::vector<float> out(n_queries * heads * l.s.head_dim, -1.0f);
    lowbit::attention_options opt;
    opt.window = window;
    lowbit::attention(cache, l.q.data() + (l.q.size() / (heads * l.s.head_dim) - n_queries) * heads * l.s.head_dim,
                      n_queries, heads, out.data(), opt, exec, b);
    return out;
}

/// ||a - b|| / ||b||.
template <class A>
double relative_rms(const std::vector<A>& a, const std::vector<double>& b) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < b.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
    return std::sqrt(num / den);
}

/// The documented relative RMS error of attention against float attention (README's accuracy table), from a
/// format's keys or values: on N(0,1) data, and for keys with outlier channels (`layer`). Measured on these
/// tests' data with about 25% to spare; the errors of keys and values add.
template <class Fmt>
double error_bound(bool outlier_keys) {
    struct row { const char* name; double clean, outliers; };
    constexpr row table[] = {{"f16", 0.001, 0.001},  {"q8_0", 0.006, 0.1},  {"q5_1", 0.04, 0.3}, {"q5_0", 0.04, 0.17},
                             {"q4_1", 0.09, 0.95},   {"q4_0", 0.09, 0.38}, {"iq4_nl", 0.09, 0.27},
                             {"q8_0_channel", 0.006, 0.02}, {"q4_1_channel", 0.09, 0.05}, {"q4_0_channel", 0.08, 0.4}};
    for (const row& r : table)
        if (std::string(r.name) == Fmt::name()) return outlier_keys ? r.outliers : r.clean;
    FAIL("no documented error for " << Fmt::name());
    return 0;
}

}  // namespace

TEST_CASE("kv_cache: bytes per token, appending, and bad input leaving the cache unchanged", "[attention][bad_input]") {
    using cache_t = lowbit::kv_cache_view<lowbit::q8_0, lowbit::q4_0>;
    CHECK(cache_t::bytes_per_token(8, 128) == 8 * (136 + 72));
    CHECK(lowbit::kv_cache_view<lowbit::f16, lowbit::f16>::bytes_per_token(8, 128) == 8 * 512);
    CHECK_THROWS_WITH(cache_t::k_bytes(2, 48, 4), Catch::Contains("head_dim 48 is not a non-zero multiple of 32 (the block of q8_0)"));
    CHECK_THROWS_WITH(cache_t::k_bytes(0, 64, 4), Catch::Contains("n_kv_heads is 0"));
    CHECK_THROWS_WITH(cache_t::k_bytes(2, 64, std::size_t(1) << 62), Catch::Contains("does not fit in memory"));
    CHECK_THROWS_WITH(cache_t(nullptr, nullptr, 2, 64, 4), Catch::Contains("null K or V buffer"));

    const std::size_t heads = 2, dim = 64, cap = 5;
    std::vector<unsigned char> kb(cache_t::k_bytes(heads, dim, cap), 0xA5), vb(cache_t::v_bytes(heads, dim, cap), 0x5A);
    cache_t cache(kb.data(), vb.data(), heads, dim, cap);
    std::vector<float> k(4 * heads * dim), v(4 * heads * dim);
    fill(k.data(), k.size(), data_kind::normal, 1);
    fill(v.data(), v.size(), data_kind::normal, 2);
    cache.append(k.data(), v.data(), 4, backend{});
    CHECK(cache.length() == 4);
    const auto k_before = kb, v_before = vb;
    CHECK_THROWS_WITH(cache.append(k.data(), v.data(), 2, backend{}), Catch::Contains("2 tokens do not fit: 4 of 5 are used"));
    std::vector<float> bad = k;
    bad[dim + 7] = std::numeric_limits<float>::quiet_NaN();  // head 1 of the one token
    CHECK_THROWS_WITH(cache.append(bad.data(), v.data(), 1, backend{}), Catch::Contains("input 71 is nan"));
    bad = v;
    bad[3] = 1e12f;  // q4_0's fp16 scale cannot reach it
    CHECK_THROWS_WITH(cache.append(k.data(), bad.data(), 1, backend{}), Catch::Contains("beyond fp16's range"));
    CHECK(kb == k_before);
    CHECK(vb == v_before);
    CHECK(cache.length() == 4);

    lowbit::kv_cache<lowbit::f16, lowbit::f16> half_cache(1, 32, 2);
    std::vector<float> big(32, 1.0f);
    big[5] = 70000.0f;
    CHECK_THROWS_WITH(half_cache.append(big.data(), big.data(), 1, backend{}), Catch::Contains("beyond f16's range of 65504"));
    CHECK(half_cache.length() == 0);
    CHECK_THROWS_WITH(cache.truncate(5), Catch::Contains("beyond the 4 tokens held"));
    cache.truncate(2);
    CHECK(cache.length() == 2);

    std::vector<float> q(3 * heads * dim, 0.5f), out(q.size());
    CHECK_THROWS_WITH(lowbit::attention(cache, q.data(), 1, 3, out.data(), {}, lowbit::serial_executor{}, backend{}),
                      Catch::Contains("3 query heads are not a non-zero multiple of the 2 KV heads"));
    CHECK_THROWS_WITH(lowbit::attention(cache, q.data(), 3, 2, out.data(), {}, lowbit::serial_executor{}, backend{}),
                      Catch::Contains("3 queries, but the cache holds 2 tokens"));
    q[1] = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(lowbit::attention(cache, q.data(), 1, 2, out.data(), {}, lowbit::serial_executor{}, backend{}),
                      Catch::Contains("input 1 is inf"));
}

TEST_CASE("kv_cache: per-channel keys: bytes, batching, outlier channels, the residual and truncation", "[attention]") {
    using pc_cache = lowbit::kv_cache_view<lowbit::per_channel<lowbit::q4_0>, lowbit::q4_0>;
    CHECK(pc_cache::bytes_per_token(8, 128) == 8 * (72 + 8 + 72));
    // Rows for every token, 2 complete groups' parameters and the residual, per head.
    CHECK(pc_cache::k_bytes(2, 64, 130) == 2 * 130 * 36 + 2 * 2 * 4 * 64 + 2 * 64 * 64 * 2);

    const std::size_t heads = 2, dim = 64, cap = 200, n = 150, row = heads * dim;
    const shape s{heads, 1, dim, n};
    const layer l(s, 1, outlier_kind::offset, 21);
    // Channel 9 of every head constant (d = 0: it reads back as exactly z).
    std::vector<float> k = l.k;
    for (std::size_t i = 9; i < k.size(); i += dim) k[i] = 0.375f;
    std::vector<unsigned char> kb(pc_cache::k_bytes(heads, dim, cap), 0xA5), vb(pc_cache::v_bytes(heads, dim, cap), 0x5A);
    auto kb1 = kb, vb1 = vb;
    pc_cache batched(kb.data(), vb.data(), heads, dim, cap), one_by_one(kb1.data(), vb1.data(), heads, dim, cap);
    batched.append(k.data(), l.v.data(), 70, backend{});
    batched.append(k.data() + 70 * row, l.v.data() + 70 * row, n - 70, backend{});
    for (std::size_t t = 0; t < n; ++t) one_by_one.append(k.data() + t * row, l.v.data() + t * row, 1, backend{});
    CHECK(batched.quantized_length() == 128);
    // The same bytes however the tokens came: rows, groups' parameters, the residual's tokens, values.
    for (std::size_t h = 0; h < heads; ++h) {
        CHECK(std::memcmp(batched.k_row(h, 0), one_by_one.k_row(h, 0), 128 * pc_cache::k_row_bytes(dim)) == 0);
        CHECK(std::memcmp(batched.k_group_params(h, 0), one_by_one.k_group_params(h, 0), 2 * 2 * dim * 2) == 0);
        CHECK(std::memcmp(batched.k_residual(h), one_by_one.k_residual(h), (n - 128) * dim * 2) == 0);
    }
    CHECK(vb == vb1);

    // Keys read back (d * u + z): the small channels keep their precision next to channels 10x and 100x larger, where
    // per-token q4_0 blocks lose it.
    auto read_back = [&](const pc_cache& c, std::size_t h, std::size_t t, float* out) {
        std::vector<float> d(2 * dim), u(dim);
        lowbit::arch::half_to_float(c.k_group_params(h, t / 64), d.data(), 2 * dim, lowbit::scalar{});
        lowbit::dequantize_row(reinterpret_cast<const lowbit::q4_0::block*>(c.k_row(h, t)), dim, u.data(), lowbit::scalar{});
        for (std::size_t i = 0; i < dim; ++i) out[i] = std::fma(d[i], u[i], d[dim + i]);
    };
    double err_channel = 0, err_token = 0;
    std::vector<float> y(dim), yt(dim);
    std::vector<lowbit::q4_0::block> blocks(dim / 32);
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t t = 0; t < batched.quantized_length(); ++t) {
            const float* x = k.data() + (t * heads + h) * dim;
            read_back(batched, h, t, y.data());
            lowbit::quantize_row(x, dim, blocks.data(), lowbit::scalar{});
            lowbit::dequantize_row(blocks.data(), dim, yt.data(), lowbit::scalar{});
            REQUIRE(y[9] == 0.375f);
            for (std::size_t i = 0; i < 32; ++i)
                if (i != 3 && i != 17) err_channel += (y[i] - x[i]) * (y[i] - x[i]), err_token += (yt[i] - x[i]) * (yt[i] - x[i]);
        }
    INFO("squared error of the small channels of the outliers' block: per channel " << err_channel << ", per token " << err_token);
    CHECK(err_channel < 0.02 * err_token);
    {
        layer offset = l;
        offset.k = k;
        const double err = relative_rms(attend(batched, offset, 1, 0), float_attention(offset, 1, 0));
        const double err_token_keys = relative_rms(attend(filled_cache<lowbit::q4_0, lowbit::q4_0>(offset), offset, 1, 0),
                                                   float_attention(offset, 1, 0));
        INFO("attention's relative RMS error on offset outlier channels: per channel " << err << ", per token " << err_token_keys);
        CHECK(err < 0.2 * err_token_keys);
    }

    // A key beyond f16 is refused, nothing written.
    std::vector<float> bad(k.begin(), k.begin() + row);
    bad[dim + 5] = 70000.0f;
    const auto k_before = kb, v_before = vb;
    CHECK_THROWS_WITH(batched.append(bad.data(), l.v.data(), 1, backend{}), Catch::Contains("beyond f16's range of 65504"));
    CHECK(kb == k_before);
    CHECK(vb == v_before);

    // Truncating inside a quantized group puts its kept tokens back into the residual as they read back; appending
    // the rest again completes the group anew.
    std::vector<std::vector<float>> kept(heads, std::vector<float>(36 * dim));
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t t = 64; t < 100; ++t) read_back(batched, h, t, kept[h].data() + (t - 64) * dim);
    batched.truncate(150, backend{});
    CHECK(kb == k_before);
    batched.truncate(100, backend{});
    CHECK(batched.quantized_length() == 64);
    std::vector<float> residual(36 * dim);
    for (std::size_t h = 0; h < heads; ++h) {
        lowbit::arch::half_to_float(batched.k_residual(h), residual.data(), residual.size(), lowbit::scalar{});
        for (std::size_t i = 0; i < residual.size(); ++i)
            REQUIRE(residual[i] == lowbit::fp16_to_fp32(lowbit::fp32_to_fp16(kept[h][i])));
    }
    batched.append(k.data() + 100 * row, l.v.data() + 100 * row, n - 100, backend{});
    CHECK(batched.quantized_length() == 128);
    layer check(s, 1, outlier_kind::none, 21);
    check.k = k;
    check.q.assign(l.q.begin(), l.q.end());
    const double err = relative_rms(attend(batched, check, 1, 0), float_attention(check, 1, 0));
    INFO("relative RMS error after the truncation " << err);
    CHECK(err < error_bound<lowbit::per_channel<lowbit::q4_0>>(true) + error_bound<lowbit::q4_0>(false));
}

TEMPLATE_LIST_TEST_CASE("attention matches float attention within the format's error", "[attention]", every_kv_format) {
    using K = typename TestType::k;
    using V = typename TestType::v;
    // Decode and prefill, GQA 1, 2 and 4, a window, contexts across chunks (64) and segments (2048).
    const shape shapes[] = {{2, 2, 64, 300}, {1, 4, 64, 2100}, {2, 1, 96, 131}};
    for (int i = 0; i < 3; ++i) {
        const shape s = shapes[i];
        const bool outliers = i == 1;
        const std::size_t n_queries = i == 2 ? 20 : 1, window = i == 0 ? 100 : 0;
        const layer l(s, n_queries, outliers ? outlier_kind::scaled : outlier_kind::none, 7 + i);
        const auto cache = filled_cache<K, V>(l);
        const auto out = attend(cache, l, n_queries, window);
        const double err = relative_rms(out, float_attention(l, n_queries, window));
        INFO(K::name() << "-" << V::name() << " shape " << i << ": relative RMS error " << err);
        CHECK(err < error_bound<K>(outliers) + error_bound<V>(false));
    }
}

TEMPLATE_LIST_TEST_CASE("attention: a prefill row is its decode, and any thread count gives the same bits", "[attention][threads]",
                        every_kv_format) {
    using K = typename TestType::k;
    using V = typename TestType::v;
    // 20 queries: two 16-query tiles (64 rows: GEMM on panels packed on the fly), each seeing two 2048-token segments
    const shape s{1, 4, 32, 2080};
    const std::size_t n_queries = 20;
    const layer l(s, n_queries, outlier_kind::none, 3);
    const auto cache = filled_cache<K, V>(l);
    for (std::size_t window : {std::size_t(0), std::size_t(70)}) {
        const auto prefill = attend(cache, l, n_queries, window);
        for (unsigned threads : {2u, 3u}) {
            lowbit::thread_pool pool(threads);
            const auto again = attend(cache, l, n_queries, window, pool);
            CHECK(std::memcmp(again.data(), prefill.data(), prefill.size() * sizeof(float)) == 0);
        }
        // Query j alone on the cache cut after it.
        const std::size_t per_query = s.n_kv_heads * s.group * s.head_dim;
        for (std::size_t j : {std::size_t(0), std::size_t(17), n_queries - 1}) {
            lowbit::kv_cache_view<K, V> cut = cache;
            cut.truncate(s.tokens - n_queries + j + 1);
            std::vector<float> decode(per_query);
            lowbit::attention_options opt;
            opt.window = window;
            lowbit::attention(cut, l.q.data() + j * per_query, 1, s.n_kv_heads * s.group, decode.data(), opt,
                              lowbit::serial_executor{}, backend{});
            INFO("query " << j << ", window " << window);
            CHECK(std::memcmp(decode.data(), prefill.data() + j * per_query, per_query * sizeof(float)) == 0);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("attention on the backend is the scalar reference's within attention.hpp's bound", "[attention]",
                        every_kv_format) {
    using K = typename TestType::k;
    using V = typename TestType::v;
    const shape s{2, 4, 64, 700};
    const std::size_t n_queries = 3;
    const layer l(s, n_queries, outlier_kind::scaled, 11);
    const auto cache = filled_cache<K, V>(l);
    const auto reference_cache = filled_cache<K, V>(l, lowbit::scalar{});
    const auto out = attend(cache, l, n_queries, 0);
    const auto ref = attend(reference_cache, l, n_queries, 0, lowbit::serial_executor{}, lowbit::scalar{});
    // Δ: the largest score difference: the keys' GEMV (attention's kernels) on the two backends, times the scale.
    double delta = 0;
    if constexpr (!std::is_same<K, lowbit::f16>::value) {
        // The rows' scores as attention.hpp computes them: the query (per-channel keys: the query times each group's
        // scales d) quantized, against the key rows.
        using act = typename rows_of<K>::type::activation;
        constexpr std::size_t group_tokens = lowbit::kv_cache_view<K, V>::key_group_tokens;
        const std::size_t heads = s.n_kv_heads * s.group, dim = s.head_dim;
        std::vector<typename act::block> qq(dim / 32);
        std::vector<float> scores(s.tokens), reference(s.tokens), qd(dim), d(dim);
        for (std::size_t r = 0; r < n_queries * heads; ++r) {
            const float* q = l.q.data() + (l.q.size() / dim - n_queries * heads + r) * dim;
            const std::size_t h = r % heads / s.group;
            // Per group of tokens for per-channel keys (their scales differ per group), else all tokens at once.
            for (std::size_t t0 = 0; t0 < cache.quantized_length();) {
                const std::size_t t1 = group_tokens > 1 ? t0 + group_tokens : cache.quantized_length();
                if constexpr (lowbit::kv_cache_view<K, V>::per_channel_keys) {
                    lowbit::arch::half_to_float(cache.k_group_params(h, t0 / group_tokens), d.data(), dim, lowbit::scalar{});
                    for (std::size_t c = 0; c < dim; ++c) qd[c] = q[c] * d[c];
                    lowbit::quantize_row(qd.data(), dim, qq.data(), lowbit::scalar{});
                } else {
                    lowbit::quantize_row(q, dim, qq.data(), lowbit::scalar{});
                }
                const auto keys = cache.keys(h, t0, t1);
                lowbit::gemv(keys, qq.data(), scores.data(), {}, lowbit::serial_executor{}, backend{});
                lowbit::gemv(keys, qq.data(), reference.data(), {}, lowbit::serial_executor{}, lowbit::scalar{});
                for (std::size_t t = 0; t < t1 - t0; ++t) delta = std::max(delta, std::fabs(double(scores[t]) - reference[t]));
                t0 = t1;
            }
        }
        delta /= std::sqrt(double(dim));
    }
    double vmax = 0;  // the largest |v| the cache can hold: the data's, plus the formats' rounding of it
    for (float x : l.v) vmax = std::max(vmax, 1.01 * std::fabs(x));
    const double eta = std::exp(delta) - 1;
    // Quantized values: each backend's int16 weights round on their own, within 63/65534 A (A <= 3 max |v|).
    const double codes = std::is_same<V, lowbit::f16>::value ? 0.0 : 2 * 63.0 / 65534 * 3;
    const double bound = (2 * eta / (1 - eta) + std::ldexp(1.0, -22) * (s.tokens + 2) + codes) * vmax;
    double worst = 0;
    for (std::size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(double(out[i]) - ref[i]));
    INFO("score difference " << delta << ", output difference " << worst << ", bound " << bound);
    CHECK(worst <= bound);
}

TEST_CASE("attention's float kernels are the reference's bit for bit", "[attention][kernels]") {
    // Every half, including subnormals, Inf and NaN payloads (signaling ones come out quiet); the halves at an odd
    // address and the floats 4 bytes past a 64-byte boundary, so no vector load or store is aligned.
    offset_buffer<lowbit::half_bytes> halves(65536 + 3, 1);
    for (std::size_t i = 0; i < halves.size(); ++i) halves[i].set_bits(static_cast<std::uint16_t>(i * 40503u));
    offset_buffer<float> y(halves.size(), 4);
    std::vector<float> ref(halves.size());
    lowbit::arch::half_to_float(halves.data(), y.data(), halves.size(), backend{});
    lowbit::arch::half_to_float(halves.data(), ref.data(), halves.size(), lowbit::scalar{});
    for (std::size_t i = 0; i < halves.size(); ++i) {
        LOWBIT_REQUIRE_CAPTURE(std::memcmp(&y[i], &ref[i], 4) == 0, halves[i].bits());
        if (lowbit::is_finite_half(halves[i]))
            LOWBIT_REQUIRE_CAPTURE(y[i] == lowbit::fp16_to_fp32(halves[i].bits()), halves[i].bits());
    }

    const std::size_t dim = 48, rows = 7, tokens = 29, stride = 32;
    offset_buffer<float> q(rows * dim, 4), k(tokens * dim, 8), v(tokens * dim, 12);
    fill(q.data(), q.size(), data_kind::heavy_tail, 5);
    fill(k.data(), k.size(), data_kind::normal, 6);
    fill(v.data(), v.size(), data_kind::heavy_tail, 7);
    std::vector<float> s(rows * stride, 0.0f), s_ref(rows * stride, 0.0f);
    lowbit::arch::float_scores(q.data(), rows, k.data(), tokens, dim, s.data(), stride, backend{});
    lowbit::arch::float_scores(q.data(), rows, k.data(), tokens, dim, s_ref.data(), stride, lowbit::scalar{});
    CHECK(std::memcmp(s.data(), s_ref.data(), s.size() * 4) == 0);

    // Two chunk steps over rows with their own token ranges (some empty, some shared by runs of rows), the first
    // on empty states, the second rescaling them; scores spread far enough that some exps are 0.
    const std::size_t lo[rows] = {0, 0, 0, 3, 3, 5, 9}, hi[rows] = {29, 29, 29, 3, 20, 28, 10};
    std::vector<float> m(rows, -std::numeric_limits<float>::infinity()), l(rows, 0.0f), o_ref(rows * dim, 0.0f);
    auto m_ref = m, l_ref = l;
    offset_buffer<float> o(rows * dim, 4);  // the outputs' rows, too, at no vector's alignment
    std::fill(o.data(), o.data() + o.size(), 0.0f);
    for (int step = 0; step < 2; ++step) {
        for (float& x : s) x *= 9.0f;
        s_ref = s;
        const float scale = step == 0 ? 0.125f : 1.5f;
        lowbit::arch::attention_softmax(s.data(), stride, rows, lo, hi, scale, dim, m.data(), l.data(), o.data(),
                                        backend{});
        lowbit::arch::attention_values(s.data(), stride, rows, lo, hi, v.data(), dim, o.data(), backend{});
        lowbit::arch::attention_softmax(s_ref.data(), stride, rows, lo, hi, scale, dim, m_ref.data(), l_ref.data(),
                                        o_ref.data(), lowbit::scalar{});
        lowbit::arch::attention_values(s_ref.data(), stride, rows, lo, hi, v.data(), dim, o_ref.data(), lowbit::scalar{});
        CHECK(std::memcmp(s.data(), s_ref.data(), s.size() * 4) == 0);
        CHECK(std::memcmp(m.data(), m_ref.data(), m.size() * 4) == 0);
        CHECK(std::memcmp(l.data(), l_ref.data(), l.size() * 4) == 0);
        CHECK(std::memcmp(o.data(), o_ref.data(), o.bytes()) == 0);
        fill(s.data(), s.size(), data_kind::normal, 8 + step);
    }
    // The polynomial against std::exp.
    for (float x = -90.0f; x <= 0.0f; x += 0.01f) {
        const double e = lowbit::arch::ref::softmax_exp(x), want = std::exp(double(x));
        if (x < -87.0f) REQUIRE(e == 0.0);
        else REQUIRE(std::fabs(e - want) <= std::ldexp(want, -22));
    }
}

namespace {

/// value_codes on the backend against the reference (every code byte; d and m bit for bit where finite), then
/// attention_codes on those codes: bit for bit the reference's, and within its documented distance of the float
/// sum of p_t * v_t.
template <class Fmt>
void check_value_codes(std::uint32_t seed) {
    using block = typename Fmt::block;
    constexpr std::size_t n = lowbit::arch::ref::value_codes_tokens, dim = 96, nb = dim / 32;
    constexpr bool has_min = Fmt::has_min;
    // Arbitrary block bytes (scales of any bits, out-of-range codes) at an odd address.
    offset_buffer<block> raw(n * nb, 1);
    fill_bytes(raw.data(), raw.bytes(), seed);
    std::vector<std::int8_t> codes(n * dim), codes_ref(n * dim);
    std::vector<float> d(nb * n), d_ref(nb * n), m(nb * n), m_ref(nb * n);
    lowbit::arch::value_codes(raw.data(), n, nb, codes.data(), d.data(), m.data(), n, backend{});
    lowbit::arch::value_codes(raw.data(), n, nb, codes_ref.data(), d_ref.data(), m_ref.data(), n, lowbit::scalar{});
    CHECK(codes == codes_ref);
    for (std::size_t i = 0; i < d.size(); ++i) {
        LOWBIT_REQUIRE_CAPTURE((std::isnan(d[i]) ? std::isnan(d_ref[i]) : d[i] == d_ref[i]), i, d[i], d_ref[i]);
        if (has_min)
            LOWBIT_REQUIRE_CAPTURE((std::isnan(m[i]) ? std::isnan(m_ref[i]) : m[i] == m_ref[i]), i, m[i], m_ref[i]);
    }

    // Real blocks of normal values, one row of 96 per token; rows with their own token ranges (empty, shared,
    // single tokens, odd and even counts). Scales and mins of tokens no row sees are NaN: never read.
    std::vector<float> x(n * dim);
    fill(x.data(), x.size(), data_kind::normal, seed + 1);
    std::vector<block> blocks(n * nb);
    lowbit::quantize_row(x.data(), x.size(), blocks.data(), lowbit::scalar{});
    std::vector<float> values(n * dim);
    lowbit::dequantize_row(blocks.data(), x.size(), values.data(), lowbit::scalar{});
    constexpr std::size_t rows = 9, stride = n + 3;
    const std::size_t lo[rows] = {0, 0, 0, 0, 3, 5, 9, 40, 63}, hi[rows] = {64, 64, 64, 64, 3, 28, 10, 57, 64};
    lowbit::arch::value_codes(blocks.data(), n, nb, codes_ref.data(), d_ref.data(), m_ref.data(), n, lowbit::scalar{});
    for (std::size_t t = 0; t < n; ++t) {
        bool seen = false;
        for (std::size_t r = 0; r < rows; ++r) seen = seen || (t >= lo[r] && t < hi[r]);
        if (!seen)
            for (std::size_t b = 0; b < nb; ++b) d_ref[b * n + t] = m_ref[b * n + t] = std::nanf("");
    }
    std::vector<float> p(rows * stride);
    fill(p.data(), p.size(), data_kind::normal, seed + 2);
    for (float& v : p) v = lowbit::arch::ref::softmax_exp(-std::fabs(4.0f * v));  // in (0, 1], some far below 1
    p[2 * stride + 7] = 0.0f;                                                      // a zero inside a row's tokens
    offset_buffer<float> o(rows * dim, 4);
    std::vector<float> o_ref(rows * dim);
    fill(o.data(), o.size(), data_kind::normal, seed + 3);
    std::copy(o.data(), o.data() + o.size(), o_ref.begin());
    const float* mins = has_min ? m_ref.data() : nullptr;
    lowbit::arch::attention_codes(p.data(), stride, rows, lo, hi, codes_ref.data(), d_ref.data(), mins, n, dim, o.data(),
                                  backend{});
    std::vector<float> before(o_ref);
    lowbit::arch::attention_codes(p.data(), stride, rows, lo, hi, codes_ref.data(), d_ref.data(), mins, n, dim,
                                  o_ref.data(), lowbit::scalar{});
    CHECK(std::memcmp(o.data(), o_ref.data(), o.bytes()) == 0);
    // Against the float sum: at most (count - 1) / 65534 * max p * (max |d| * max |code| + max |m|) per output.
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < dim; ++c) {
            const std::size_t b = c / 32;
            double exact = before[r * dim + c], pmax = 0, dmax = 0, cmax = 0, mmax = 0;
            for (std::size_t t = lo[r]; t < hi[r]; ++t) {
                exact += double(p[r * stride + t]) * values[t * dim + c];
                pmax = std::max(pmax, double(p[r * stride + t]));
                dmax = std::max(dmax, std::fabs(double(d_ref[b * n + t])));
                cmax = std::max(cmax, std::fabs(double(codes_ref[t * dim + c])));
                if (has_min) mmax = std::max(mmax, std::fabs(double(m_ref[b * n + t])));
            }
            const double count = double(hi[r] - lo[r]);
            const double bound = (count > 0 ? (count - 1) / 65534 : 0) * pmax * (dmax * cmax + mmax) +
                                 1e-6 * (std::fabs(exact) + pmax * count * (dmax * cmax + mmax));
            LOWBIT_REQUIRE_CAPTURE(std::fabs(o_ref[r * dim + c] - exact) <= bound, r, c, o_ref[r * dim + c], exact,
                                   bound);
        }
}

}  // namespace

TEST_CASE("attention's value codes and integer p.v are the reference's bit for bit", "[attention][kernels]") {
    check_value_codes<lowbit::q8_0>(21);
    check_value_codes<lowbit::q5_1>(22);
    check_value_codes<lowbit::q5_0>(23);
    check_value_codes<lowbit::q4_1>(24);
    check_value_codes<lowbit::q4_0>(25);
    check_value_codes<lowbit::iq4_nl>(26);
}
