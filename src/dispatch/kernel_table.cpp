// One backend's kernel table for the runtime dispatcher (include/lowbit/core/dispatch_abi.hpp). CMake compiles
// this file once per backend of LOWBIT_FOR_EACH_BACKEND that the compiler can build, with that backend's flags
// and LOWBIT_DISPATCH_BACKEND=<tag>; everything here is in that target's namespace except the one exported
// function, lowbit::abi::kernels_<tag>(). Shapes arrive checked, so nothing here formats an error message.
#include <lowbit/lowbit.hpp>

#if !defined(LOWBIT_DISPATCH_BACKEND)
#error "compile with -DLOWBIT_DISPATCH_BACKEND=<backend tag> and that backend's flags"
#endif

LOWBIT_NAMESPACE_BEGIN
namespace detail {

using table_backend = arch::LOWBIT_DISPATCH_BACKEND;
static_assert(table_backend::compiled, "the flags do not enable the backend named by LOWBIT_DISPATCH_BACKEND");

/// The caller's executor (abi::executor) in the shape for_row_ranges expects.
struct abi_executor_ref {
    const abi::executor& e;
    std::size_t size() const noexcept { return e.threads; }
    template <class Task>
    void operator()(std::size_t ntasks, const Task& task) const {
        e.run(e.self, ntasks, const_cast<void*>(static_cast<const void*>(&task)),
              [](void* ctx, std::size_t t) { (*static_cast<const Task*>(ctx))(t); });
    }
};

template <class Fmt, class... Formats>
constexpr bool is_one_of(type_list<Formats...>) noexcept {
    return (std::is_same<Fmt, Formats>::value || ...);
}

template <class Fmt>
abi::format_kernels kernels_of() {
    using block = typename Fmt::block;
    using B = table_backend;
    abi::format_kernels k{};
    k.quantize = [](const float* x, void* y, std::size_t n) { quantize_blocks(x, static_cast<block*>(y), n, B{}); };
    k.dequantize = [](const void* x, float* y, std::size_t n) {
        dequantize_blocks(static_cast<const block*>(x), y, n, B{});
    };
    if constexpr (arch::ref::value_code_format<block>::value)
        k.value_codes = [](const void* x, std::size_t tokens, std::size_t blocks_per_row, std::int8_t* codes, float* d,
                           float* m, std::size_t stride) {
            arch::value_codes(static_cast<const block*>(x), tokens, blocks_per_row, codes, d, m, stride, B{});
        };
    if constexpr (is_one_of<Fmt>(weight_formats{})) {
        using act = typename Fmt::activation;
        k.dot = [](const void* w, const void* a, std::size_t n) {
            return dot_blocks(static_cast<const block*>(w), static_cast<const typename act::block*>(a), n, B{});
        };
        k.gemm = [](const abi::qmatrix& w, const abi::qmatrix& x, const abi::output& o, const abi::executor& e) {
            const const_qmatrix_view<Fmt> wv(unchecked_t{}, w.data, w.rows, w.cols, w.row_bytes);
            const const_qmatrix_view<act> xv(unchecked_t{}, x.data, x.rows, x.cols, x.row_bytes);
            const abi_executor_ref exec{e};
            run_matmul<const_qmatrix_view<Fmt>, const abi_executor_ref, B>(
                wv, xv, arch::matmul_output{o.y, o.stride, o.bias, o.accumulate}, exec);
        };
        k.gemm_matches_dot = gemm_matches_dot<Fmt, B>();
        if constexpr (packed_layout<Fmt>::supported)
            k.gemm_packed = [](const abi::packed& w, const abi::qmatrix& x, const abi::output& o,
                               const abi::executor& e) {
                const const_packed_view<Fmt> wv(unchecked_t{}, w.data, w.rows, w.cols);
                const const_qmatrix_view<act> xv(unchecked_t{}, x.data, x.rows, x.cols, x.row_bytes);
                const abi_executor_ref exec{e};
                run_matmul<const_packed_view<Fmt>, const abi_executor_ref, B>(
                    wv, xv, arch::matmul_output{o.y, o.stride, o.bias, o.accumulate}, exec);
            };
    }
    return k;
}

template <class... Formats>
const abi::format_kernels* kernels_of_all(type_list<Formats...>) {
    static const abi::format_kernels table[] = {kernels_of<Formats>()...};
    return table;
}

}  // namespace detail
LOWBIT_NAMESPACE_END

namespace lowbit::abi {

const kernel_table& LOWBIT_CONCAT(kernels_, LOWBIT_DISPATCH_BACKEND, )() {
    using detail::table_backend;
    using B = table_backend;
    static const attention_kernels attention{
        [](const void* x, float* y, std::size_t n) { arch::half_to_float(static_cast<const half_bytes*>(x), y, n, B{}); },
        [](const float* q, std::size_t rows, const float* k, std::size_t tokens, std::size_t dim, float* s,
           std::size_t s_stride) { arch::float_scores(q, rows, k, tokens, dim, s, s_stride, B{}); },
        [](float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo, const std::size_t* hi, float scale,
           std::size_t dim, float* m, float* l, float* o) {
            arch::attention_softmax(s, s_stride, rows, lo, hi, scale, dim, m, l, o, B{});
        },
        [](const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo, const std::size_t* hi,
           const float* v, std::size_t dim, float* o) { arch::attention_values(p, p_stride, rows, lo, hi, v, dim, o, B{}); },
        [](const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo, const std::size_t* hi,
           const std::int8_t* codes, const float* d, const float* mins, std::size_t d_stride, std::size_t dim, float* o) {
            arch::attention_codes(p, p_stride, rows, lo, hi, codes, d, mins, d_stride, dim, o, B{});
        }};
    static const kernel_table table{version, B::name(), B::emulated, detail::size_of(all_formats{}),
                                    detail::kernels_of_all(all_formats{}), attention};
    return table;
}

}  // namespace lowbit::abi
