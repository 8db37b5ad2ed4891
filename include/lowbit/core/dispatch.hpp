#pragma once
/// \file core/dispatch.hpp
/// The `dispatched` backend's kernels: each forwards to the kernel table of the backend chosen at run time
/// (core/dispatch_abi.hpp; the tables are compiled by the lowbit::dispatch library, one translation unit per
/// backend with that backend's flags). Its GEMM entry is in matmul.hpp (run_matmul). Used when the program
/// links lowbit::dispatch, which defines LOWBIT_RUNTIME_DISPATCH and so makes `dispatched` the default backend.
#include "../error.hpp"
#include "../formats.hpp"
#include "backends.hpp"
#include "dispatch_abi.hpp"

#include <string>

LOWBIT_NAMESPACE_BEGIN
namespace detail {

template <class Fmt, class... Formats>
constexpr std::size_t index_of(type_list<Formats...>) noexcept {
    const bool match[] = {std::is_same<Fmt, Formats>::value...};
    std::size_t i = 0;
    while (i < sizeof...(Formats) && !match[i]) ++i;
    return i;
}
template <class... Formats>
constexpr std::size_t size_of(type_list<Formats...>) noexcept {
    return sizeof...(Formats);
}

/// The chosen backend's table, checked once against this translation unit's list of formats.
inline const abi::kernel_table& dispatched_table() {
    static const abi::kernel_table& table = [] () -> const abi::kernel_table& {
        const abi::kernel_table& t = abi::active_kernels();
        if (t.version != abi::version || t.format_count != size_of(all_formats{}))
            raise(std::string("lowbit::dispatch: the ") + t.backend +
                  " kernel table was built from another lowbit version (rebuild lowbit::dispatch with these headers)");
        return t;
    }();
    return table;
}

template <class Fmt>
const abi::format_kernels& dispatched_kernels() {
    constexpr std::size_t index = index_of<Fmt>(all_formats{});
    static_assert(index < size_of(all_formats{}), "not a format of lowbit::all_formats");
    return dispatched_table().formats[index];
}

}  // namespace detail

namespace arch {

template <class Block>
void quantize_blocks(const float* x, Block* y, std::size_t nblocks, const dispatched&) {
    detail::dispatched_kernels<typename Block::format>().quantize(x, y, nblocks);
}

template <class Block>
void dequantize_blocks(const Block* x, float* y, std::size_t nblocks, const dispatched&) {
    detail::dispatched_kernels<typename Block::format>().dequantize(x, y, nblocks);
}

template <class Block>
float dot_blocks(const Block* w, const typename Block::format::activation::block* a, std::size_t nblocks,
                 const dispatched&) {
    return detail::dispatched_kernels<typename Block::format>().dot(w, a, nblocks);
}

inline void half_to_float(const half_bytes* x, float* y, std::size_t n, const dispatched&) {
    detail::dispatched_table().attention.half_to_float(x, y, n);
}

inline void float_scores(const float* q, std::size_t rows, const float* k, std::size_t tokens, std::size_t dim,
                         float* s, std::size_t s_stride, const dispatched&) {
    detail::dispatched_table().attention.float_scores(q, rows, k, tokens, dim, s, s_stride);
}

inline void attention_softmax(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                              const std::size_t* hi, float scale, std::size_t dim, float* m, float* l, float* o,
                              const dispatched&) {
    detail::dispatched_table().attention.attention_softmax(s, s_stride, rows, lo, hi, scale, dim, m, l, o);
}

inline void attention_values(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                             const std::size_t* hi, const float* v, std::size_t dim, float* o, const dispatched&) {
    detail::dispatched_table().attention.attention_values(p, p_stride, rows, lo, hi, v, dim, o);
}

template <class Block>
void value_codes(const Block* x, std::size_t tokens, std::size_t blocks_per_row, std::int8_t* codes, float* d, float* m,
                 std::size_t stride, const dispatched&) {
    detail::dispatched_kernels<typename Block::format>().value_codes(x, tokens, blocks_per_row, codes, d, m, stride);
}

inline void attention_codes(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o, const dispatched&) {
    detail::dispatched_table().attention.attention_codes(p, p_stride, rows, lo, hi, codes, d, mins, d_stride, dim, o);
}

}  // namespace arch

/// The backend the running CPU uses ("avx512_vnni", "avx2", "neon_dotprod", ...): the best one lowbit::dispatch
/// was built with that this CPU runs, or the one the environment variable LOWBIT_BACKEND names. Throws
/// lowbit::error if LOWBIT_BACKEND names an unknown backend or one this CPU (or this build) cannot run.
inline const char* runtime_backend() { return detail::dispatched_table().backend; }

LOWBIT_NAMESPACE_END
