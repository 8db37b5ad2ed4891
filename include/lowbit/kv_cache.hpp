#pragma once
/// \file kv_cache.hpp
/// A key/value cache for one attention layer, its keys and values each stored in f16 or a 32-value quantized
/// format (kv_formats), and read by attention.hpp. The cache is a view over memory its owner provides
/// (kv_cache_view: engines own their memory) or owns it (kv_cache).
///
/// Layout: keys and values in two buffers, each n_kv_heads x capacity rows of head_dim values, one row per
/// (head, token):
///
///     K buffer:  head 0: token 0 | token 1 | ... | token capacity-1 | head 1: token 0 | ...
///     row(h, t) at (h * capacity + t) * row_bytes,   row_bytes = head_dim / block_size * block_bytes
///
/// so a head's keys are one row-major quantized matrix (tokens x head_dim) that the GEMV/GEMM kernels score
/// against the queries, and its values are contiguous rows. Bytes per token: n_kv_heads * (K row_bytes +
/// V row_bytes); per head and 128 values: f16 256, q8_0 136, q5_1 96, q5_0 88, q4_1 80, q4_0 and iq4_nl 72.
///
/// Writing: append() takes the new tokens' keys and values as floats (token-major: token, head, value, as a
/// model's projections produce them), quantizes each row with the format's round-to-nearest quantizer (the
/// bytes of quantize_row on every backend; f16: round to nearest even), and only then copies them in: on any
/// error (past capacity, a non-finite value, a value beyond what the format's fp16 scale or f16 can hold)
/// nothing is written.
#include "api.hpp"
#include "core/scratch.hpp"
#include "error.hpp"
#include "formats.hpp"
#include "half.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>

LOWBIT_NAMESPACE_BEGIN

/// IEEE binary16 storage for keys or values: the unquantized baseline of the KV formats (2 bytes a value).
struct f16 {
    static constexpr std::size_t block_size = 1;
    static constexpr std::size_t block_bytes = 2;
    static constexpr double bits_per_weight = 16.0;
    static constexpr const char* name() noexcept { return "f16"; }
};

/// The formats a KV cache stores keys or values in, most bits first: f16 and the 32-value formats.
using kv_formats = type_list<f16, q8_0, q5_1, q5_0, q4_1, q4_0, iq4_nl>;

/// Keys quantized per channel (KIVI's per-channel keys), a key format: real keys have a few channels 10-100x
/// larger than the rest, which a format's per-token blocks quantize on their scale, losing the small channels.
/// Here each head's tokens form groups of group_tokens; per group, channel c gets an offset z_c (the midpoint of
/// its values) and a scale d_c (its largest distance from z_c), both f16, and a token's row of normalized values
/// u_c = (k_c - z_c) / d_c (0 where d_c is 0) is stored in the 32-value format Fmt. A key reads back as
/// k_c = d_c * u_c + z_c with u_c Fmt's value. The tokens of the last, incomplete group stay in f16 (the
/// "residual") until it is complete; it is then quantized from those f16 values, so the bytes do not depend on
/// how the tokens were batched. Bytes per head and token: Fmt's row plus 4 * head_dim / group_tokens (q4_0 and
/// 128 values: 72 + 8), and the residual's fixed group_tokens x head_dim halves per head.
/// attention.hpp scores a group with the GEMM kernels: q . k_t = (q * d) . u_t + q . z.
template <class Fmt>
struct per_channel {
    using format = Fmt;
    static constexpr std::size_t group_tokens = 64;
    static constexpr std::size_t block_size = Fmt::block_size;
    static const char* name() {
        static const std::string n = std::string(Fmt::name()) + "_channel";
        return n.c_str();
    }
};

namespace detail {

/// Rows of KV storage format Fmt: bytes per row, and writing one.
template <class Fmt>
struct kv_rows {
    static constexpr std::size_t bytes(std::size_t n) noexcept { return n / Fmt::block_size * Fmt::block_bytes; }

    /// Writes the n finite values of x as a row; raises (at, naming value `first + i`) where the format cannot
    /// hold them.
    template <class Backend>
    static void from_float(const call_site& at, const float* x, std::size_t n, unsigned char* row, Backend) {
        if constexpr (std::is_same<Fmt, f16>::value) {
            for (std::size_t i = 0; i < n; ++i) {
                const half_bytes h = [&] { half_bytes b{}; b.set_bits(fp32_to_fp16(x[i])); return b; }();
                if (!is_finite_half(h))
                    raise(at.str() + ": value " + std::to_string(i) + " is " + std::to_string(x[i]) +
                          ", beyond f16's range of 65504");
                std::memcpy(row + 2 * i, h.b, 2);
            }
        } else {
            auto* y = reinterpret_cast<typename Fmt::block*>(row);
            quantize_blocks(x, y, n / Fmt::block_size, Backend{});
            check_scales<Fmt>(at, x, y, n / Fmt::block_size, 0);
        }
    }
};

template <class Fmt, class... Formats>
constexpr bool is_kv_format(type_list<Formats...>) noexcept {
    return (std::is_same<Fmt, Formats>::value || ...);
}

/// attention.hpp reads every quantized value format as codes: ref::value_code_format must list them all.
template <class... Formats>
constexpr bool value_codes_cover(type_list<Formats...>) noexcept {
    return (arch::ref::value_code_format<typename std::conditional_t<std::is_same<Formats, f16>::value, q8_0,
                                                                      Formats>::block>::value &&
            ...);
}
static_assert(value_codes_cover(kv_formats{}), "a KV format that value_codes cannot read");

template <class KFmt>
struct key_storage {  // keys stored as rows of KFmt
    using row_format = KFmt;
    static constexpr bool per_channel = false, valid = is_kv_format<KFmt>(kv_formats{});
};
template <class Fmt>
struct key_storage<lowbit::per_channel<Fmt>> {  // normalized rows of Fmt, per-group channel parameters, an f16 residual
    using row_format = Fmt;
    static constexpr bool per_channel = true;
    static constexpr bool valid = is_kv_format<Fmt>(kv_formats{}) && !std::is_same<Fmt, f16>::value;
};

/// One group of per-channel keys from its f16 keys (tokens x dim, token-major): params = d_0..d_dim-1, z_0..z_dim-1
/// (per_channel's scale and offset of each channel) and the tokens' rows of normalized values in Fmt.
template <class Fmt, class Backend>
void quantize_key_group(const half_bytes* keys, std::size_t tokens, std::size_t dim, half_bytes* params,
                        unsigned char* rows, Backend) {
    scratch<float> x(tokens * dim), d(dim), z(dim), u(dim);
    half_to_float(keys, x.data(), tokens * dim, Backend{});
    for (std::size_t c = 0; c < dim; ++c) {
        float lo = x[c], hi = x[c];
        for (std::size_t t = 1; t < tokens; ++t) lo = std::min(lo, x[t * dim + c]), hi = std::max(hi, x[t * dim + c]);
        params[dim + c].set_bits(fp32_to_fp16(0.5f * (lo + hi)));  // f16 keys: lo + hi stays finite in float
        z[c] = fp16_to_fp32(params[dim + c].bits());
        float dev = 0.0f;
        for (std::size_t t = 0; t < tokens; ++t) dev = std::max(dev, std::fabs(x[t * dim + c] - z[c]));
        params[c].set_bits(fp32_to_fp16(std::min(dev, 65504.0f)));
        d[c] = fp16_to_fp32(params[c].bits());
    }
    for (std::size_t t = 0; t < tokens; ++t) {
        for (std::size_t c = 0; c < dim; ++c) u[c] = d[c] > 0.0f ? (x[t * dim + c] - z[c]) / d[c] : 0.0f;
        quantize_blocks(u.data(), reinterpret_cast<typename Fmt::block*>(rows + t * kv_rows<Fmt>::bytes(dim)),
                        dim / Fmt::block_size, Backend{});
    }
}

inline std::size_t checked_product(const char* what, std::size_t a, std::size_t b) {
    if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b)
        raise(std::string("kv_cache: ") + what + " (" + to_string(a) + " x " + to_string(b) + ") does not fit in memory");
    return a * b;
}

}  // namespace detail

/// A KV cache over caller-owned memory: K and V buffers of k_bytes() / v_bytes() bytes (any alignment), of which
/// the first length() tokens are valid. Copying the view copies the pointers, not the cache.
template <class KFmt, class VFmt>
class kv_cache_view {
    static_assert(detail::key_storage<KFmt>::valid && detail::is_kv_format<VFmt>(kv_formats{}),
                  "KV caches store keys in one of lowbit::kv_formats or per_channel<one of the quantized ones>, and "
                  "values in one of lowbit::kv_formats");
    using key_rows = detail::kv_rows<typename detail::key_storage<KFmt>::row_format>;

public:
    using key_format = KFmt;
    using value_format = VFmt;
    static constexpr bool per_channel_keys = detail::key_storage<KFmt>::per_channel;
    /// Tokens per group of per-channel keys (1 for the other key formats).
    static constexpr std::size_t key_group_tokens = [] {
        if constexpr (per_channel_keys) return KFmt::group_tokens;
        else return std::size_t(1);
    }();

    /// Bytes of a token's key row (per-channel keys: its normalized row) and value row.
    static std::size_t k_row_bytes(std::size_t head_dim) noexcept { return key_rows::bytes(head_dim); }
    static std::size_t v_row_bytes(std::size_t head_dim) noexcept { return detail::kv_rows<VFmt>::bytes(head_dim); }
    /// K (V) buffer bytes for a cache of this shape. Per-channel keys: the rows, then every complete group's
    /// channel parameters (2 x head_dim halves per head and group), then the residual (key_group_tokens x head_dim
    /// halves per head).
    static std::size_t k_bytes(std::size_t n_kv_heads, std::size_t head_dim, std::size_t capacity) {
        check_shape(n_kv_heads, head_dim);
        const std::size_t rows = detail::checked_product(
            "the K buffer", detail::checked_product("heads x tokens", n_kv_heads, capacity), k_row_bytes(head_dim));
        if constexpr (!per_channel_keys) return rows;
        // Per head: 2 x head_dim halves (4 * head_dim bytes) per complete group, and the residual's key_group_tokens
        // rows of head_dim halves (as many bytes as key_group_tokens / 2 groups' parameters).
        const std::size_t extra = detail::checked_product(
            "the K buffer's channel parameters",
            detail::checked_product("heads x groups", n_kv_heads, capacity / key_group_tokens + key_group_tokens / 2),
            4 * head_dim);
        if (rows + extra < rows) raise("kv_cache: the K buffer does not fit in memory");
        return rows + extra;
    }
    static std::size_t v_bytes(std::size_t n_kv_heads, std::size_t head_dim, std::size_t capacity) {
        check_shape(n_kv_heads, head_dim);
        return detail::checked_product("the V buffer", detail::checked_product("heads x tokens", n_kv_heads, capacity),
                                       v_row_bytes(head_dim));
    }
    /// Cache bytes each token takes (K and V, every head).
    /// (Per-channel keys: with their groups' parameters, 4 * head_dim / key_group_tokens bytes per head and token;
    /// the residual, a fixed key_group_tokens tokens in f16 per head, is not counted.)
    static std::size_t bytes_per_token(std::size_t n_kv_heads, std::size_t head_dim) noexcept {
        const std::size_t params = per_channel_keys ? 4 * head_dim / key_group_tokens : 0;
        return n_kv_heads * (k_row_bytes(head_dim) + params + v_row_bytes(head_dim));
    }

    /// Raises if head_dim is not a non-zero multiple of both formats' blocks, n_kv_heads is 0, length exceeds
    /// capacity, or a buffer is null for a non-zero capacity.
    kv_cache_view(void* k, void* v, std::size_t n_kv_heads, std::size_t head_dim, std::size_t capacity,
                  std::size_t length = 0)
        : m_k(static_cast<unsigned char*>(k)), m_v(static_cast<unsigned char*>(v)), m_heads(n_kv_heads),
          m_dim(head_dim), m_capacity(capacity), m_length(length) {
        k_bytes(n_kv_heads, head_dim, capacity);
        v_bytes(n_kv_heads, head_dim, capacity);
        if (length > capacity)
            raise("kv_cache: length " + detail::to_string(length) + " exceeds the capacity of " +
                  detail::to_string(capacity) + " tokens");
        if (capacity != 0 && (!k || !v)) raise("kv_cache: null K or V buffer for a capacity of " + detail::to_string(capacity));
    }

    std::size_t n_kv_heads() const noexcept { return m_heads; }
    std::size_t head_dim() const noexcept { return m_dim; }
    std::size_t capacity() const noexcept { return m_capacity; }
    std::size_t length() const noexcept { return m_length; }
    /// The tokens whose keys are in rows: all of them, but for per-channel keys the residual's.
    std::size_t quantized_length() const noexcept { return m_length / key_group_tokens * key_group_tokens; }

    /// Token `token`'s key row (per-channel keys: its normalized row, for token < quantized_length()).
    const unsigned char* k_row(std::size_t head, std::size_t token) const noexcept {
        return m_k + (head * m_capacity + token) * k_row_bytes(m_dim);
    }
    /// Per-channel keys: group `group`'s channel scales d (head_dim halves), then offsets z (head_dim halves).
    const half_bytes* k_group_params(std::size_t head, std::size_t group) const noexcept {
        return group_params(head, group);
    }
    /// Per-channel keys: the residual's keys in f16, the token quantized_length() + i at row i.
    const half_bytes* k_residual(std::size_t head) const noexcept { return residual(head); }
    const unsigned char* v_row(std::size_t head, std::size_t token) const noexcept {
        return m_v + (head * m_capacity + token) * v_row_bytes(m_dim);
    }
    /// Head `head`'s key rows of tokens [t0, t1) as a quantized matrix (tokens x head_dim); not for f16 keys.
    template <class F = typename detail::key_storage<KFmt>::row_format, class = std::enable_if_t<!std::is_same<F, f16>::value>>
    const_qmatrix_view<F> keys(std::size_t head, std::size_t t0, std::size_t t1) const noexcept {
        return const_qmatrix_view<F>(unchecked_t{}, k_row(head, t0), t1 - t0, m_dim, k_row_bytes(m_dim));
    }

    /// Appends n_tokens tokens: k and v hold n_tokens x n_kv_heads x head_dim floats each (token, head, value).
    /// Checks everything before writing: on error the cache is unchanged.
    template <class Backend = default_backend>
    void append(const float* k, const float* v, std::size_t n_tokens = 1, Backend = {}) {
        detail::check_backend<Backend>();
        if (n_tokens > m_capacity - m_length)
            raise("kv_cache::append: " + detail::to_string(n_tokens) + " tokens do not fit: " +
                  detail::to_string(m_length) + " of " + detail::to_string(m_capacity) + " are used");
        if (n_tokens == 0) return;
        if (!k || !v) raise("kv_cache::append: null keys or values");
        const std::size_t values = n_tokens * m_heads * m_dim;
        detail::check_finite({"kv_cache::append", "keys"}, k, values);
        detail::check_finite({"kv_cache::append", "values"}, v, values);
        // Every row is encoded (and checked) into a staging buffer before the cache is touched.
        const std::size_t krow = k_row_bytes(m_dim), vrow = v_row_bytes(m_dim), rows = n_tokens * m_heads;
        detail::scratch<unsigned char> staged_k, staged_v(rows * vrow);
        key_groups staged_groups;
        if constexpr (per_channel_keys) {
            staged_groups = stage_key_groups(k, n_tokens, Backend{});
        } else {
            staged_k.resize(rows * krow);
            for (std::size_t r = 0; r < rows; ++r)
                detail::kv_rows<KFmt>::from_float({"kv_cache::append", KFmt::name(), r}, k + r * m_dim, m_dim,
                                                  staged_k.data() + r * krow, Backend{});
        }
        for (std::size_t r = 0; r < rows; ++r)
            detail::kv_rows<VFmt>::from_float({"kv_cache::append", VFmt::name(), r}, v + r * m_dim, m_dim,
                                              staged_v.data() + r * vrow, Backend{});
        if constexpr (per_channel_keys) {
            write_key_groups(staged_groups);
        } else {
            for (std::size_t t = 0; t < n_tokens; ++t)
                for (std::size_t h = 0; h < m_heads; ++h)
                    std::memcpy(m_k + (h * m_capacity + m_length + t) * krow, staged_k.data() + (t * m_heads + h) * krow, krow);
        }
        for (std::size_t t = 0; t < n_tokens; ++t)
            for (std::size_t h = 0; h < m_heads; ++h)
                std::memcpy(m_v + (h * m_capacity + m_length + t) * vrow, staged_v.data() + (t * m_heads + h) * vrow, vrow);
        m_length += n_tokens;
    }

    /// Forgets the tokens from `length` on (e.g. a rejected speculative draft). Per-channel keys: a length inside
    /// a quantized group puts that group's remaining tokens back into the residual as their keys read back
    /// (d_c * u_c + z_c rounded to f16), to be quantized again when the group is complete; a length within the
    /// residual changes nothing else. (A view shares its memory: truncating one copy so rewrites the residual of
    /// every copy.)
    template <class Backend = default_backend>
    void truncate(std::size_t length, Backend = {}) {
        detail::check_backend<Backend>();
        if (length > m_length)
            raise("kv_cache::truncate: length " + detail::to_string(length) + " is beyond the " +
                  detail::to_string(m_length) + " tokens held");
        if constexpr (per_channel_keys) {
            const std::size_t first = length / key_group_tokens * key_group_tokens;
            if (length < quantized_length() && first < length) {
                using row_format = typename KFmt::format;
                detail::scratch<float> u(m_dim), d(m_dim), z(m_dim);
                for (std::size_t h = 0; h < m_heads; ++h) {
                    const half_bytes* p = group_params(h, first / key_group_tokens);
                    half_to_float(p, d.data(), m_dim, Backend{});
                    half_to_float(p + m_dim, z.data(), m_dim, Backend{});
                    for (std::size_t t = first; t < length; ++t) {
                        dequantize_blocks(reinterpret_cast<const typename row_format::block*>(k_row(h, t)), u.data(),
                                          m_dim / row_format::block_size, Backend{});
                        for (std::size_t c = 0; c < m_dim; ++c) {
                            const float key = std::fma(d[c], u[c], z[c]);  // the same rounding on every target
                            residual(h)[(t - first) * m_dim + c].set_bits(
                                fp32_to_fp16(std::max(-65504.0f, std::min(key, 65504.0f))));
                        }
                    }
                }
            }
        }
        m_length = length;
    }

private:
    half_bytes* group_params(std::size_t head, std::size_t group) const noexcept {
        const std::size_t rows = m_heads * m_capacity * k_row_bytes(m_dim);
        return reinterpret_cast<half_bytes*>(m_k + rows) + (head * (m_capacity / key_group_tokens) + group) * 2 * m_dim;
    }
    half_bytes* residual(std::size_t head) const noexcept {
        return group_params(0, m_heads * (m_capacity / key_group_tokens)) + head * key_group_tokens * m_dim;
    }

    /// Per-channel keys appended, staged: the keys of tokens [quantized_length(), length() + n) in f16 per head
    /// (halves), and the groups complete among them quantized (params, rows), per head.
    struct key_groups {
        std::size_t first, done, span, n_groups;  // tokens [first, first + span) staged, [first, done) complete groups
        detail::scratch<half_bytes> halves, params;
        detail::scratch<unsigned char> rows;
    };

    /// The n_tokens tokens' keys to f16 (checked) after the residual's, and the groups they complete quantized.
    template <class Backend>
    key_groups stage_key_groups(const float* k, std::size_t n_tokens, Backend) const {
        constexpr std::size_t group = key_group_tokens;
        const std::size_t first = quantized_length(), end = m_length + n_tokens, done = end / group * group;
        const std::size_t span = end - first, n_groups = (done - first) / group, krow = k_row_bytes(m_dim);
        key_groups staged{first, done, span, n_groups, {}, {}, {}};
        staged.halves.resize(m_heads * span * m_dim), staged.params.resize(m_heads * n_groups * 2 * m_dim);
        staged.rows.resize(m_heads * (done - first) * krow);
        half_bytes* halves = staged.halves.data();
        for (std::size_t h = 0; h < m_heads; ++h)
            std::copy(residual(h), residual(h) + (m_length - first) * m_dim, halves + h * span * m_dim);
        for (std::size_t t = 0; t < n_tokens; ++t)
            for (std::size_t h = 0; h < m_heads; ++h) {
                const std::size_t r = t * m_heads + h;
                detail::kv_rows<f16>::from_float({"kv_cache::append", KFmt::name(), r}, k + r * m_dim, m_dim,
                                                 reinterpret_cast<unsigned char*>(
                                                     halves + (h * span + m_length - first + t) * m_dim),
                                                 Backend{});
            }
        for (std::size_t h = 0; h < m_heads; ++h)
            for (std::size_t g = 0; g < n_groups; ++g)
                detail::quantize_key_group<typename KFmt::format>(
                    halves + (h * span + g * group) * m_dim, group, m_dim,
                    staged.params.data() + (h * n_groups + g) * 2 * m_dim,
                    staged.rows.data() + (h * (done - first) + g * group) * krow, Backend{});
        return staged;
    }

    void write_key_groups(const key_groups& staged) {
        const std::size_t first = staged.first, done = staged.done, span = staged.span, n_groups = staged.n_groups;
        const std::size_t krow = k_row_bytes(m_dim);
        const half_bytes* halves = staged.halves.data();
        const half_bytes* params = staged.params.data();
        for (std::size_t h = 0; h < m_heads; ++h) {
            if (done > first)
                std::memcpy(m_k + (h * m_capacity + first) * krow, staged.rows.data() + h * (done - first) * krow,
                            (done - first) * krow);
            std::copy(params + h * n_groups * 2 * m_dim, params + (h + 1) * n_groups * 2 * m_dim,
                      group_params(h, first / key_group_tokens));
            std::copy(halves + (h * span + done - first) * m_dim, halves + (h + 1) * span * m_dim, residual(h));
        }
    }

    static void check_shape(std::size_t n_kv_heads, std::size_t head_dim) {
        // The attention kernels take 16 values at a time.
        constexpr std::size_t block = std::max({KFmt::block_size, VFmt::block_size, std::size_t(16)});
        if (n_kv_heads == 0) raise("kv_cache: n_kv_heads is 0");
        if (head_dim == 0 || head_dim % block != 0)
            raise(std::string("kv_cache: head_dim ") + detail::to_string(head_dim) + " is not a non-zero multiple of " +
                  detail::to_string(block) + (block == 16 ? " (the attention kernels' step)"
                                                           : std::string(" (the block of ") +
                                                                 (KFmt::block_size >= VFmt::block_size ? KFmt::name() : VFmt::name()) + ")"));
    }

    unsigned char* m_k;
    unsigned char* m_v;
    std::size_t m_heads, m_dim, m_capacity, m_length;
};

/// A KV cache that owns its memory (k_bytes + v_bytes, allocated at construction). Movable, not copyable.
template <class KFmt, class VFmt>
class kv_cache : public kv_cache_view<KFmt, VFmt> {
    using view = kv_cache_view<KFmt, VFmt>;

public:
    kv_cache(std::size_t n_kv_heads, std::size_t head_dim, std::size_t capacity)
        : kv_cache(detail::scratch<unsigned char>(view::k_bytes(n_kv_heads, head_dim, capacity)),
                   detail::scratch<unsigned char>(view::v_bytes(n_kv_heads, head_dim, capacity)), n_kv_heads, head_dim,
                   capacity) {}
    kv_cache(kv_cache&&) = default;
    kv_cache& operator=(kv_cache&&) = default;
    kv_cache(const kv_cache&) = delete;
    kv_cache& operator=(const kv_cache&) = delete;

private:
    kv_cache(detail::scratch<unsigned char> k, detail::scratch<unsigned char> v, std::size_t n_kv_heads, std::size_t head_dim,
             std::size_t capacity)
        : view(k.data(), v.data(), n_kv_heads, head_dim, capacity), m_kbuf(std::move(k)), m_vbuf(std::move(v)) {}

    detail::scratch<unsigned char> m_kbuf, m_vbuf;  // moving a vector keeps its data where the view points
};

LOWBIT_NAMESPACE_END
