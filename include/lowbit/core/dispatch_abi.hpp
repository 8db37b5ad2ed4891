#pragma once
/// \file core/dispatch_abi.hpp
/// The runtime dispatcher's binary interface: what the caller's translation unit (compiled for any target)
/// and the per-target kernel translation units of lowbit::dispatch (src/dispatch/) pass between them. Plain
/// structs and function pointers only, outside every target namespace, with no inline code: nothing here is
/// compiled for one CPU and called by another. Blocks travel as bytes; each side names formats by their index
/// in lowbit::all_formats (formats.hpp).
#include <cstddef>
#include <cstdint>

namespace lowbit::abi {

/// Bumped whenever a struct below changes: the selector refuses a kernel table of another version.
constexpr unsigned version = 4;

/// Rows of blocks (plain weights, or quantized activations): row r at data + r * row_bytes.
struct qmatrix {
    const void* data;
    std::size_t rows, cols, row_bytes;
};

/// A matrix packed by lowbit::pack (packed.hpp).
struct packed {
    const void* data;
    std::size_t rows, cols;
};

/// core/matmul.hpp's matmul_output.
struct output {
    float* y;
    std::size_t stride;
    const float* bias;
    bool accumulate;
};

/// The caller's executor: run(self, ntasks, ctx, task) calls task(ctx, t) once for each t < ntasks.
struct executor {
    void* self;
    std::size_t threads;
    void (*run)(void* self, std::size_t ntasks, void* ctx, void (*task)(void* ctx, std::size_t t));
};

/// One format's kernels on one backend; a member is null where the format has no such kernel (dot and gemm
/// for the activation-only formats, gemm_packed for the formats lowbit::pack does not support, value_codes for the
/// formats a KV cache does not store values in). The sizes are in blocks; shapes and pointers are checked by the
/// caller.
struct format_kernels {
    void (*quantize)(const float* x, void* y, std::size_t nblocks);
    void (*dequantize)(const void* x, float* y, std::size_t nblocks);
    float (*dot)(const void* w, const void* a, std::size_t nblocks);
    void (*gemm)(const qmatrix& w, const qmatrix& xq, const output& out, const executor& exec);
    void (*gemm_packed)(const packed& w, const qmatrix& xq, const output& out, const executor& exec);
    void (*value_codes)(const void* x, std::size_t tokens, std::size_t blocks_per_row, std::int8_t* codes, float* d,
                        float* m, std::size_t stride);
    bool gemm_matches_dot;  // each gemm output is bit for bit what dot gives (see matmul.hpp)
};

/// The steps of attention.hpp (ref/attention.hpp) that no format owns.
struct attention_kernels {
    void (*half_to_float)(const void* x, float* y, std::size_t n);
    void (*float_scores)(const float* q, std::size_t rows, const float* k, std::size_t tokens, std::size_t dim, float* s,
                         std::size_t s_stride);
    void (*attention_softmax)(float* s, std::size_t s_stride, std::size_t rows, const std::size_t* lo,
                              const std::size_t* hi, float scale, std::size_t dim, float* m, float* l, float* o);
    void (*attention_values)(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                             const std::size_t* hi, const float* v, std::size_t dim, float* o);
    void (*attention_codes)(const float* p, std::size_t p_stride, std::size_t rows, const std::size_t* lo,
                            const std::size_t* hi, const std::int8_t* codes, const float* d, const float* mins,
                            std::size_t d_stride, std::size_t dim, float* o);
};

/// A backend's kernels for every format of lowbit::all_formats, in that order, and its attention kernels.
struct kernel_table {
    unsigned version;
    const char* backend;  // the tag's name(): "avx2", ...
    bool emulated;
    std::size_t format_count;
    const format_kernels* formats;
    attention_kernels attention;
};

/// The table of the backend chosen for this process (see lowbit/dispatch.hpp); throws lowbit::error when
/// LOWBIT_BACKEND names a backend that is unknown, not built, or not runnable on this CPU.
const kernel_table& active_kernels();

}  // namespace lowbit::abi
