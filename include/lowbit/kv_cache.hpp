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

namespace detail {

/// Rows of KV storage format Fmt: bytes per row and the float row of a stored one.
template <class Fmt>
struct kv_rows {
    static constexpr std::size_t bytes(std::size_t n) noexcept { return n / Fmt::block_size * Fmt::block_bytes; }

    template <class Backend>
    static void to_float(const unsigned char* row, std::size_t n, float* y, Backend) {
        if constexpr (std::is_same<Fmt, f16>::value)
            half_to_float(reinterpret_cast<const half_bytes*>(row), y, n, Backend{});
        else
            dequantize_blocks(reinterpret_cast<const typename Fmt::block*>(row), y, n / Fmt::block_size, Backend{});
    }

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
    static_assert(detail::is_kv_format<KFmt>(kv_formats{}) && detail::is_kv_format<VFmt>(kv_formats{}),
                  "KV caches store keys and values in one of lowbit::kv_formats");

public:
    using key_format = KFmt;
    using value_format = VFmt;

    static std::size_t k_row_bytes(std::size_t head_dim) noexcept { return detail::kv_rows<KFmt>::bytes(head_dim); }
    static std::size_t v_row_bytes(std::size_t head_dim) noexcept { return detail::kv_rows<VFmt>::bytes(head_dim); }
    /// K (V) buffer bytes for a cache of this shape.
    static std::size_t k_bytes(std::size_t n_kv_heads, std::size_t head_dim, std::size_t capacity) {
        check_shape(n_kv_heads, head_dim);
        return detail::checked_product("the K buffer", detail::checked_product("heads x tokens", n_kv_heads, capacity),
                                       k_row_bytes(head_dim));
    }
    static std::size_t v_bytes(std::size_t n_kv_heads, std::size_t head_dim, std::size_t capacity) {
        check_shape(n_kv_heads, head_dim);
        return detail::checked_product("the V buffer", detail::checked_product("heads x tokens", n_kv_heads, capacity),
                                       v_row_bytes(head_dim));
    }
    /// Cache bytes each token takes (K and V, every head).
    static std::size_t bytes_per_token(std::size_t n_kv_heads, std::size_t head_dim) noexcept {
        return n_kv_heads * (k_row_bytes(head_dim) + v_row_bytes(head_dim));
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

    const unsigned char* k_row(std::size_t head, std::size_t token) const noexcept {
        return m_k + (head * m_capacity + token) * k_row_bytes(m_dim);
    }
    const unsigned char* v_row(std::size_t head, std::size_t token) const noexcept {
        return m_v + (head * m_capacity + token) * v_row_bytes(m_dim);
    }
    /// Head `head`'s keys of tokens [t0, t1) as a quantized matrix (tokens x head_dim); not for f16 keys.
    template <class F = KFmt, class = std::enable_if_t<!std::is_same<F, f16>::value>>
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
        detail::scratch<unsigned char> staged(rows * (krow + vrow));
        for (std::size_t r = 0; r < rows; ++r) {
            const detail::call_site kat{"kv_cache::append", KFmt::name(), r}, vat{"kv_cache::append", VFmt::name(), r};
            detail::kv_rows<KFmt>::from_float(kat, k + r * m_dim, m_dim, staged.data() + r * krow, Backend{});
            detail::kv_rows<VFmt>::from_float(vat, v + r * m_dim, m_dim, staged.data() + rows * krow + r * vrow,
                                              Backend{});
        }
        for (std::size_t t = 0; t < n_tokens; ++t)
            for (std::size_t h = 0; h < m_heads; ++h) {
                const std::size_t r = t * m_heads + h;
                std::memcpy(m_k + (h * m_capacity + m_length + t) * krow, staged.data() + r * krow, krow);
                std::memcpy(m_v + (h * m_capacity + m_length + t) * vrow, staged.data() + rows * krow + r * vrow, vrow);
            }
        m_length += n_tokens;
    }

    /// Forgets the tokens from `length` on (e.g. a rejected speculative draft).
    void truncate(std::size_t length) {
        if (length > m_length)
            raise("kv_cache::truncate: length " + detail::to_string(length) + " is beyond the " +
                  detail::to_string(m_length) + " tokens held");
        m_length = length;
    }

private:
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
