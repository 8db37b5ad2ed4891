// attention.hpp over a kv_cache (kv_cache.hpp) on the chosen backend: decode (one query token, Llama-3-8B's
// 32 query heads over 8 KV heads of 128 values) at several context lengths, and prefill (a block of query tokens
// at the end of a context). Decode's rate is the cache bytes it reads (the report sets it against read_bw at that
// size, and the tokens it reads); prefill's, its multiply-adds (2 FLOP each for q.k and for p.v).
#include "bench_common.hpp"

#include <lowbit/attention.hpp>

namespace lowbit_bench {

namespace {

constexpr std::size_t heads = 32, kv_heads = 8, dim = 128;

/// Values in a KV format: the reference's blocks of the float pool, or its values in f16.
template <class Fmt>
aligned_bytes pool_values_as(std::size_t values) {
    if constexpr (std::is_same<Fmt, lowbit::f16>::value) {
        static const std::vector<lowbit::half_bytes> pool = [] {
            std::vector<lowbit::half_bytes> h(pool_values);
            for (std::size_t i = 0; i < pool_values; ++i) h[i].set_bits(lowbit::fp32_to_fp16(float_pool()[i]));
            return h;
        }();
        aligned_bytes out(values * 2);
        fill_tiled(out, pool.data(), pool.size() * 2);
        return out;
    } else {
        return blocks<typename Fmt::block>(values);
    }
}

/// The K buffer of a cache of `tokens` tokens. Per-channel keys: rows of their format, then the groups' parameters
/// and the residual as f16 values of the pool.
template <class K, class V>
aligned_bytes pool_keys(std::size_t tokens) {
    if constexpr (lowbit::kv_cache_view<K, V>::per_channel_keys) {
        const aligned_bytes rows = pool_values_as<typename K::format>(tokens * kv_heads * dim);
        const std::size_t total = lowbit::kv_cache_view<K, V>::k_bytes(kv_heads, dim, tokens);
        const aligned_bytes halves = pool_values_as<lowbit::f16>((total - rows.size()) / 2);
        aligned_bytes out(total);
        std::memcpy(out.data(), rows.data(), rows.size());
        std::memcpy(out.data() + rows.size(), halves.data(), halves.size());
        return out;
    } else {
        return pool_values_as<K>(tokens * kv_heads * dim);
    }
}

/// A full cache of `tokens` tokens (keys and values from the pools), kept across the calls of one benchmark.
template <class K, class V>
struct filled_cache {
    aligned_bytes k, v;
    lowbit::kv_cache_view<K, V> view;
    explicit filled_cache(std::size_t tokens)
        : k(pool_keys<K, V>(tokens)), v(pool_values_as<V>(tokens * kv_heads * dim)),
          view(k.data(), v.data(), kv_heads, dim, tokens, tokens) {}
};

template <class K, class V>
void bench_attention(benchmark::State& state, std::size_t context, std::size_t queries, std::size_t threads) {
    const auto cache = cached<filled_cache<K, V>>(
        bench_name(std::string("kv/") + K::name() + "-" + V::name(), {{"ctx", context}}),
        [context] { return filled_cache<K, V>(context); });
    const aligned_bytes q = floats(queries * heads * dim), out(queries * heads * dim * sizeof(float));
    with_executor(threads, [&](auto& exec) {
        for (auto _ : state) {
            lowbit::attention(cache->view, as<const float>(q), queries, heads, as<float>(out), {}, exec, backend{});
            benchmark::ClobberMemory();
        }
    });
    const double cache_bytes = static_cast<double>(context) * static_cast<double>(cache->view.bytes_per_token(kv_heads, dim));
    // Multiply-adds: every query row against every token it sees (causal), q.k and p.v.
    const double seen = static_cast<double>(queries) * static_cast<double>(context) -
                        static_cast<double>(queries) * static_cast<double>(queries - 1) / 2;
    set_rates(state, queries == 1 ? cache_bytes : 0.0, 0.0, 4.0 * seen * heads * dim, lowbit::runtime_backend());
    // Cached tokens read per second (decode): the report's cache size is ctx * bytes / tokens.
    if (queries == 1)
        state.counters["tokens"] = benchmark::Counter(static_cast<double>(context), benchmark::Counter::kIsIterationInvariantRate);
}

template <class K, class V>
void register_pair(const suite_sizes& s) {
    const std::string tail = std::string("/") + K::name() + "-" + V::name() + "/" + lowbit::runtime_backend();
    const std::vector<std::pair<const char*, std::size_t>> model = {{"heads", heads}, {"kv_heads", kv_heads}, {"dim", dim}};
    for (const std::size_t ctx : s.attention_contexts)
        for (const std::size_t t : s.threads) {
            auto args = model;
            args.insert(args.begin(), {"ctx", ctx});
            args.push_back({"threads", t});
            add(bench_name("attention/decode" + tail, args),
                [ctx, t](benchmark::State& st) { bench_attention<K, V>(st, ctx, 1, t); }, t);
        }
    for (const auto& prefill : s.attention_prefill)
        for (const std::size_t t : s.threads) {
            const std::size_t ctx = prefill[0], queries = prefill[1];
            auto args = model;
            args.insert(args.begin(), {{"ctx", ctx}, {"queries", queries}});
            args.push_back({"threads", t});
            add(bench_name("attention/prefill" + tail, args),
                [ctx, queries, t](benchmark::State& st) { bench_attention<K, V>(st, ctx, queries, t); }, t);
        }
}

}  // namespace

void register_attention_benchmarks(const suite_sizes& s) {
    register_pair<lowbit::f16, lowbit::f16>(s);
    register_pair<lowbit::q8_0, lowbit::q8_0>(s);
    register_pair<lowbit::q4_0, lowbit::q4_0>(s);
    register_pair<lowbit::per_channel<lowbit::q4_0>, lowbit::q4_0>(s);
    if (s.attention_all_formats) {
        register_pair<lowbit::q5_1, lowbit::q5_1>(s);
        register_pair<lowbit::q5_0, lowbit::q5_0>(s);
        register_pair<lowbit::q4_1, lowbit::q4_1>(s);
        register_pair<lowbit::iq4_nl, lowbit::iq4_nl>(s);
        register_pair<lowbit::q8_0, lowbit::q4_0>(s);
    }
}

}  // namespace lowbit_bench
