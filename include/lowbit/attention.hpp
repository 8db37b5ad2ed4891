#pragma once
/// \file attention.hpp
/// Attention over a kv_cache (kv_cache.hpp): decode (one query token) and prefill (a block of query tokens) in
/// one function, for any GQA ratio, causal, with an optional sliding window.
///
/// The queries are the last n_queries tokens appended to the cache (append first, then attend): query j sits at
/// position p_j = length - n_queries + j and sees the tokens [max(0, p_j + 1 - window), p_j]. Query head i reads
/// KV head i / (n_heads / n_kv_heads).
///
/// Arithmetic, fixed so that the result depends on neither the executor, its thread count, nor n_queries:
///   - scores s_t = scale * (q . k_t). Quantized keys: q is quantized to the key format's activation (q8_0 or
///     q8_1) and scored by the backend's GEMM kernels (matmul.hpp: exact integer sums; a GEMM row is its GEMV).
///     f16 keys: float dot products (arch float_scores). Per-channel keys (per_channel<Fmt>): per group,
///     (q * d) quantized and scored as above on the normalized rows, plus q . z by float_scores; the residual's
///     f16 keys as f16 keys.
///   - the tokens are cut at fixed positions into chunks of 64 and segments of 2048 (attention_chunk_tokens,
///     attention_segment_tokens). Within a segment, flash-attention's running softmax over its chunks in order
///     (arch attention_softmax: running max m, sum l, p_t = e^(s_t - m)), then the chunk's o += p_t * v_t:
///     f16 values as floats, fma in token order (arch attention_values); quantized values as their int8 codes
///     and block scales (arch value_codes), summed exactly in integers with int16 weights: per row and 32-value
///     block, w_t = p_t * d_t rounded on the step max|w| / 32767 (arch attention_codes). That adds at most
///     63/65534 A to an output (A: the largest |d * code| + |m| of the blocks seen; max |v| for the formats
///     without a min, at most 3 max |v| with one), below 0.001 A, far below any 8-bit format's own error
///     (ref/attention.hpp). The segments' (m, l, o) are then merged in order, and out = o / l. Segments are the
///     tasks the executor runs (split-K), per KV head and tile of 16 query tokens.
/// So prefill's row for query j is bit for bit the decode of a cache of length p_j + 1 (per-channel keys: with
/// the same tokens in the residual), and every thread count gives the same bits. The steps of ref/attention.hpp
/// are bit-identical on every backend, so between backends only quantized keys' scores differ (by the dot
/// tolerance of api.hpp: Δ at most per score after scaling), and the outputs then by at most
/// (2η / (1 - η) + 2^-22 (T + 2)) max |v| (+ 2 * 63/65534 A for quantized values, whose rounding of w may
/// differ) with η = e^Δ - 1 and T the tokens seen (tests/test_attention.cpp). Values that are not finite in the
/// cache (a view over memory written elsewhere) give unspecified outputs for the queries of their chunk.
///
/// Checked (lowbit::error, nothing written): n_heads a non-zero multiple of n_kv_heads, n_queries <= length, null
/// pointers, a non-finite query or scale.
#include "kv_cache.hpp"
#include "matmul.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

LOWBIT_NAMESPACE_BEGIN

struct attention_options {
    /// Score scale; 0 means 1 / sqrt(head_dim).
    float scale = 0.0f;
    /// 0: each query sees every token up to itself; w > 0: only the last w of them (itself included).
    std::size_t window = 0;
};

namespace detail {

constexpr std::size_t attention_chunk_tokens = 64, attention_segment_tokens = 2048, attention_query_tile = 16;
/// Tokens of quantized keys scored by one GEMM call: 8 chunks (at a query tile's 64 rows, 128 KiB of scores).
constexpr std::size_t attention_score_block = 8 * attention_chunk_tokens;
static_assert(attention_chunk_tokens <= arch::ref::value_codes_tokens, "attention_codes takes a chunk at a time");

/// Running softmax states of query rows: max m (-inf while empty), sum l, output o (head_dim floats per row).
struct softmax_states {
    float* m;
    float* l;
    float* o;
};

/// Row a's state = row a merged with row b's (the later tokens), in the one order every path uses.
inline void merge_into(softmax_states a, softmax_states b, std::size_t dim) noexcept {
    constexpr float empty = -std::numeric_limits<float>::infinity();
    if (*b.m == empty) return;
    if (*a.m == empty) {
        *a.m = *b.m, *a.l = *b.l;
        std::memcpy(a.o, b.o, dim * sizeof(float));
        return;
    }
    const float m = std::max(*a.m, *b.m), fa = arch::ref::softmax_exp(*a.m - m), fb = arch::ref::softmax_exp(*b.m - m);
    *a.m = m;
    *a.l = rounded(*a.l * fa) + rounded(*b.l * fb);
    for (std::size_t d = 0; d < dim; ++d) a.o[d] = rounded(a.o[d] * fa) + rounded(b.o[d] * fb);
}

/// The queries of one call, arranged per KV head: row (h, j, g) is query token j's head h * group + g, as
/// quantized blocks of the key format's activation (quantized keys) or floats (f16 and per-channel keys).
template <class KFmt, class Backend>
struct attention_queries {
    static constexpr bool quantized = !std::is_same<KFmt, f16>::value && !key_storage<KFmt>::per_channel;
    using act = typename std::conditional_t<quantized, KFmt, q8_0>::activation;
    std::size_t row_bytes, rows_per_head;
    scratch<unsigned char> data;

    attention_queries(const float* q, std::size_t n_queries, std::size_t n_heads, std::size_t group, std::size_t dim)
        : row_bytes(quantized ? const_qmatrix_view<act>::row_bytes(dim) : dim * sizeof(float)),
          rows_per_head(n_queries * group), data(n_queries * n_heads * row_bytes) {
        for (std::size_t j = 0; j < n_queries; ++j)
            for (std::size_t head = 0; head < n_heads; ++head) {
                const float* x = q + (j * n_heads + head) * dim;
                unsigned char* y = row(head / group, j * group + head % group);
                if constexpr (quantized)
                    quantize_blocks(x, reinterpret_cast<typename act::block*>(y), dim / act::block_size, Backend{});
                else
                    std::memcpy(y, x, dim * sizeof(float));
            }
    }
    unsigned char* row(std::size_t kv_head, std::size_t r) noexcept {
        return data.data() + (kv_head * rows_per_head + r) * row_bytes;
    }
};

/// Raw scores of per-channel keys of head h, tokens [t0, t1) of one chunk (one group), for float query rows q:
/// the residual's f16 keys as f16 keys are scored; a quantized group's as q . k_t = (q * d) . u_t + q . z, with
/// q * d quantized to the row format's activation and scored by the GEMM kernels, and q . z by float_scores.
/// Scratch: `keys` chunk x dim floats, `scaled` rows activation rows, `bias` rows floats.
template <class KFmt, class VFmt, class Backend>
void per_channel_scores(const kv_cache_view<KFmt, VFmt>& cache, const float* q, std::size_t rows, std::size_t h,
                        std::size_t t0, std::size_t t1, float* keys, unsigned char* scaled, float* bias, float* scores,
                        Backend) {
    static_assert(KFmt::group_tokens == attention_chunk_tokens, "a chunk of per-channel keys is one group");
    constexpr std::size_t chunk = attention_chunk_tokens;
    const std::size_t dim = cache.head_dim(), quantized = cache.quantized_length();
    if (t0 >= quantized) {
        half_to_float(cache.k_residual(h) + (t0 - quantized) * dim, keys, (t1 - t0) * dim, Backend{});
        float_scores(q, rows, keys, t1 - t0, dim, scores, chunk, Backend{});
        return;
    }
    using act = typename KFmt::format::activation;
    const half_bytes* params = cache.k_group_params(h, t0 / chunk);
    float* d = keys;  // scratch: d, z, then a scaled query row
    float* z = keys + dim;
    float* qd = keys + 2 * dim;
    half_to_float(params, d, 2 * dim, Backend{});
    const std::size_t act_row = const_qmatrix_view<act>::row_bytes(dim);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < dim; ++c) qd[c] = q[r * dim + c] * d[c];
        quantize_blocks(qd, reinterpret_cast<typename act::block*>(scaled + r * act_row), dim / act::block_size,
                        Backend{});
    }
    float_scores(q, rows, z, 1, dim, bias, 1, Backend{});
    serial_executor serial;
    run_matmul<const_qmatrix_view<typename KFmt::format>, serial_executor, Backend>(
        cache.keys(h, t0, t1), const_qmatrix_view<act>(unchecked_t{}, scaled, rows, dim, act_row),
        arch::matmul_output{scores, chunk, nullptr, false}, serial);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t t = 0; t < t1 - t0; ++t) scores[r * chunk + t] += bias[r];
}

/// The work of one task: KV head h, query tokens [j0, j1), the tokens of segment `segment`; for each of the
/// (j1 - j0) * group query rows, the running softmax over the tokens it sees there, left in `states`.
template <class KFmt, class VFmt, class Backend>
void attend_segment(const kv_cache_view<KFmt, VFmt>& cache, attention_queries<KFmt, Backend>& queries,
                    std::size_t n_queries, std::size_t group, std::size_t h, std::size_t j0, std::size_t j1,
                    std::size_t segment, float scale, std::size_t window, softmax_states states) {
    constexpr std::size_t chunk = attention_chunk_tokens;
    const std::size_t dim = cache.head_dim(), length = cache.length(), rows = (j1 - j0) * group;
    const std::size_t first_pos = length - n_queries;
    // Tokens query j sees: [lo(j), hi(j)).
    auto lo = [&](std::size_t j) { const std::size_t p = first_pos + j; return window && p + 1 > window ? p + 1 - window : 0; };
    auto hi = [&](std::size_t j) { return first_pos + j + 1; };
    std::fill(states.m, states.m + rows, -std::numeric_limits<float>::infinity());
    const std::size_t seg0 = segment * attention_segment_tokens, seg1 = std::min(length, seg0 + attention_segment_tokens);
    const std::size_t t_begin = std::max(seg0, lo(j0)), t_end = std::min(seg1, hi(j1 - 1));
    if (t_begin >= t_end) return;

    // Quantized keys are scored up to score_block tokens per GEMM call (its panel made once for them); the others
    // chunk by chunk. Row r's score of token t is at scores[r * s_stride + t - scored_from].
    constexpr bool quantized = attention_queries<KFmt, Backend>::quantized;
    const std::size_t s_stride = quantized ? attention_score_block : chunk;
    std::size_t scored_from = 0, scored_to = 0;
    // Quantized values are read as codes (value_codes: int8 codes, and scales and mins block by block, token by
    // token); f16 ones as floats.
    constexpr bool quantized_values = !std::is_same<VFmt, f16>::value;
    using vblock = typename std::conditional_t<quantized_values, VFmt, q8_0>::block;
    constexpr bool value_mins = vblock::format::has_min;
    scratch<float> scores(rows * s_stride), values(quantized_values ? 0 : chunk * dim), keys, bias;
    scratch<std::int8_t> codes(quantized_values ? chunk * dim : 0);
    scratch<float> value_d(quantized_values ? dim / 32 * chunk : 0), value_m(value_mins ? dim / 32 * chunk : 0);
    scratch<std::size_t> row_lo(rows), row_hi(rows);
    scratch<unsigned char> scaled;  // per-channel keys: the rows' scaled queries, quantized
    if constexpr (!quantized) keys.resize(chunk * dim);
    if constexpr (key_storage<KFmt>::per_channel) {
        scaled.resize(rows * const_qmatrix_view<typename KFmt::format::activation>::row_bytes(dim));
        bias.resize(rows);
    }
    const unsigned char* q_rows = queries.row(h, j0 * group);
    for (std::size_t c0 = t_begin / chunk * chunk; c0 < t_end; c0 += chunk) {
        // This chunk's tokens [t0, t1); row r sees [row_lo, row_hi) of them (relative to t0).
        const std::size_t t0 = std::max(c0, t_begin), t1 = std::min(c0 + chunk, t_end);
        std::size_t v0 = t1, v1 = t0;  // the tokens some row sees
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t j = j0 + r / group, a = std::max(t0, lo(j)), b = std::min(t1, hi(j));
            row_lo[r] = a < b ? a - t0 : 0, row_hi[r] = a < b ? b - t0 : 0;
            if (a < b) v0 = std::min(v0, a), v1 = std::max(v1, b);
        }
        if (v0 >= v1) continue;
        // Raw scores of tokens [t0, t1) for every row.
        if constexpr (std::is_same<KFmt, f16>::value) {
            half_to_float(reinterpret_cast<const half_bytes*>(cache.k_row(h, t0)), keys.data(), (t1 - t0) * dim,
                          Backend{});
            float_scores(reinterpret_cast<const float*>(q_rows), rows, keys.data(), t1 - t0, dim, scores.data(), chunk,
                         Backend{});
            scored_from = t0;
        } else if constexpr (key_storage<KFmt>::per_channel) {
            per_channel_scores(cache, reinterpret_cast<const float*>(q_rows), rows, h, t0, t1, keys.data(),
                               scaled.data(), bias.data(), scores.data(), Backend{});
            scored_from = t0;
        } else if (t1 > scored_to) {
            scored_from = t0, scored_to = std::min(t_end, t0 + attention_score_block);
            using act = typename KFmt::activation;
            const const_qmatrix_view<act> x(unchecked_t{}, q_rows, rows, dim, queries.row_bytes);
            serial_executor serial;
            run_matmul<const_qmatrix_view<KFmt>, serial_executor, Backend>(
                cache.keys(h, scored_from, scored_to), x,
                arch::matmul_output{scores.data(), s_stride, nullptr, false}, serial);
        }
        float* p = scores.data() + (t0 - scored_from);
        attention_softmax(p, s_stride, rows, row_lo.data(), row_hi.data(), scale, dim, states.m, states.l, states.o,
                          Backend{});
        // The value rows the rows see (token t0 + i at row i), then o += p v.
        if constexpr (quantized_values) {
            value_codes(reinterpret_cast<const vblock*>(cache.v_row(h, v0)), v1 - v0, dim / 32,
                        codes.data() + (v0 - t0) * dim, value_d.data() + (v0 - t0),
                        value_mins ? value_m.data() + (v0 - t0) : nullptr, chunk, Backend{});
            attention_codes(p, s_stride, rows, row_lo.data(), row_hi.data(), codes.data(), value_d.data(),
                            value_mins ? value_m.data() : nullptr, chunk, dim, states.o, Backend{});
        } else {
            half_to_float(reinterpret_cast<const half_bytes*>(cache.v_row(h, v0)), values.data() + (v0 - t0) * dim,
                          (v1 - v0) * dim, Backend{});
            attention_values(p, s_stride, rows, row_lo.data(), row_hi.data(), values.data(), dim, states.o, Backend{});
        }
    }
}

}  // namespace detail

/// out = softmax(scale * q K^T + causal mask) V for the last n_queries tokens of the cache, every head.
/// q and out: n_queries x n_heads x head_dim floats (token, head, value); n_heads a multiple of n_kv_heads.
template <class KFmt, class VFmt, class Executor = serial_executor, class Backend = default_backend>
void attention(const kv_cache_view<KFmt, VFmt>& cache, const float* q, std::size_t n_queries, std::size_t n_heads,
               float* out, const attention_options& options = {}, Executor&& exec = {}, Backend = {}) {
    detail::check_backend<Backend>();
    const std::size_t dim = cache.head_dim(), n_kv = cache.n_kv_heads();
    const auto at = [] { return std::string("attention(") + KFmt::name() + ", " + VFmt::name() + ")"; };
    if (n_heads == 0 || n_heads % n_kv != 0)
        raise(at() + ": " + detail::to_string(n_heads) + " query heads are not a non-zero multiple of the " +
              detail::to_string(n_kv) + " KV heads");
    if (n_queries > cache.length())
        raise(at() + ": " + detail::to_string(n_queries) + " queries, but the cache holds " +
              detail::to_string(cache.length()) + " tokens (append the queries' keys and values first)");
    if (n_queries == 0) return;
    if (!q || !out) raise(at() + ": null query or output");
    if (!std::isfinite(options.scale)) raise(at() + ": scale " + std::to_string(options.scale) + " is not finite");
    detail::check_finite({"attention", "query"}, q, n_queries * n_heads * dim);
    const float scale = options.scale != 0.0f ? options.scale : 1.0f / std::sqrt(static_cast<float>(dim));
    const std::size_t group = n_heads / n_kv;

    detail::attention_queries<KFmt, Backend> queries(q, n_queries, n_heads, group, dim);
    // Tasks: (KV head, query tile, segment); each leaves a state per query row and segment.
    const std::size_t length = cache.length(), tile = detail::attention_query_tile;
    const std::size_t n_tiles = (n_queries + tile - 1) / tile;
    const std::size_t n_segments = (length + detail::attention_segment_tokens - 1) / detail::attention_segment_tokens;
    const std::size_t rows = n_queries * n_heads;  // all query rows, ordered (KV head, query, group member)
    detail::scratch<float> m(n_segments * rows), l(n_segments * rows), o(n_segments * rows * dim);
    auto states = [&](std::size_t segment, std::size_t row) {
        const std::size_t i = segment * rows + row;
        return detail::softmax_states{m.data() + i, l.data() + i, o.data() + i * dim};
    };
    exec(n_kv * n_tiles * n_segments, [&](std::size_t task) {
        const std::size_t segment = task % n_segments, t = task / n_segments, h = t / n_tiles, j0 = t % n_tiles * tile;
        const std::size_t j1 = std::min(n_queries, j0 + tile);
        detail::attend_segment(cache, queries, n_queries, group, h, j0, j1, segment, scale, options.window,
                               states(segment, (h * n_queries + j0) * group));
    });
    // Merge each row's segments in order; out = o / l.
    for (std::size_t h = 0; h < n_kv; ++h)
        for (std::size_t j = 0; j < n_queries; ++j)
            for (std::size_t g = 0; g < group; ++g) {
                const std::size_t r = (h * n_queries + j) * group + g;
                const detail::softmax_states total = states(0, r);
                for (std::size_t s = 1; s < n_segments; ++s) detail::merge_into(total, states(s, r), dim);
                float* y = out + (j * n_heads + h * group + g) * dim;
                for (std::size_t d = 0; d < dim; ++d) y[d] = total.o[d] / *total.l;
            }
}

LOWBIT_NAMESPACE_END
