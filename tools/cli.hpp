#pragma once
/// \file tools/cli.hpp
/// The `lowbit` command-line tool, as a function that a test or a fuzzer can call: run() never exits and
/// never throws; it reports on `err` and returns the exit status.
///
///   lowbit quantize   --format FMT --cols N [--method rtn|search|seqmse|gptq] [--importance FILE] [--calib ACTS]
///                     IN OUT
///                                                    raw little-endian float32 rows of N values -> packed blocks
///   lowbit dequantize --format FMT --cols N IN OUT   packed blocks -> float32 rows of N values
///   lowbit error      --format FMT --cols N [--method M] [--importance FILE] [--calib ACTS] IN
///                                                    the error of quantizing IN: RMSE, max |error|, SNR (and
///                                                    with --calib the layer's output SNR)
///   lowbit formats                                   one line per format: name, block size, bytes per block,
///                                                    bits per weight
///   lowbit inspect FILE.gguf [--context N]           a GGUF model's metadata summary, tensor table, totals per
///                                                    type, bits per weight, and weight and KV-cache memory
///   lowbit requantize IN.gguf OUT.gguf --type T [--method M] [--calib DIR] [--embeddings] [--threads N]
///                                                    the model with its weight matrices in format or mix T
///   lowbit bench-model FILE.gguf [--threads N] [--batch B] [--seconds S]
///                                                    times a forward pass's weight products: tokens/s, GB/s
///                                                    against the read bandwidth measured in the same run
///   lowbit --version | --help
///
/// IN or OUT may be "-" for standard input or output. Files are streamed in chunks of about 4 MiB whatever
/// their size. Exit status: 0 on success, 1 on bad data or I/O errors (OUT is then removed), 2 on bad usage.
#include "cli_common.hpp"
#include "gguf_commands.hpp"

#include <exception>
#include <filesystem>
#include <functional>

namespace lowbit::cli::detail {

/// One pass over the input: `in_bytes` / `out_bytes` per block of input / output, and the kernel, which
/// converts n values (whole blocks, starting at column `first_col` of a row) and throws lowbit::error on bad
/// input.
struct conversion {
    std::size_t in_bytes, out_bytes;
    std::function<void(const unsigned char* in, std::size_t n, std::size_t first_col, unsigned char* out)> convert;
    /// convert takes all the whole rows of a chunk at once (n a multiple of the row), not one row per call.
    bool whole_rows = false;
};

/// Streams src to dst through `conv`, with buffers of about 4 MiB each: whole rows when a row fits (a row of
/// a billion columns needs no 4 GiB), converted one row (or part of a row) per call so that an error names its
/// row. src must hold whole rows of `cols` values. With dst == nullptr the output is discarded.
inline void convert_stream(const format_entry& fmt, const conversion& conv, std::size_t cols, std::FILE* src,
                           const std::string& in_path, std::FILE* dst, const std::string& out_path) {
    constexpr std::size_t chunk_target = std::size_t{4} << 20;
    const std::size_t blocks_per_row = cols / fmt.block_size;
    const std::size_t row_in_bytes = blocks_per_row * conv.in_bytes;
    const std::size_t target_blocks = std::max<std::size_t>(1, chunk_target / std::max(conv.in_bytes, conv.out_bytes));
    const std::size_t chunk_blocks = blocks_per_row <= target_blocks ? target_blocks / blocks_per_row * blocks_per_row
                                                                     : target_blocks;
    std::vector<unsigned char> in(chunk_blocks * conv.in_bytes), out(chunk_blocks * conv.out_bytes);
    std::size_t done_blocks = 0;  // over all rows
    for (bool at_end = false; !at_end;) {
        const std::size_t got = read_some(src, in.data(), in.size(), in_path);
        at_end = got < in.size();
        if (at_end && (done_blocks * conv.in_bytes + got) % row_in_bytes != 0)
            fail(bad_data, "'" + in_path + "' ends inside a row: its size is not a multiple of " +
                               std::to_string(row_in_bytes) + " bytes (a row of " + std::to_string(cols) +
                               " columns as " + (conv.in_bytes == fmt.block_bytes ? fmt.name + std::string(" blocks)")
                                                                                   : std::string("float32)")));
        const std::size_t nblocks = got / conv.in_bytes;
        for (std::size_t b = 0; b < nblocks;) {
            const std::size_t row = (done_blocks + b) / blocks_per_row, first = (done_blocks + b) % blocks_per_row;
            const std::size_t count = conv.whole_rows ? nblocks - b : std::min(nblocks - b, blocks_per_row - first);
            if (conv.whole_rows && (first != 0 || count % blocks_per_row != 0))
                fail(bad_usage, "rows of " + std::to_string(cols) + " values are too long for this method's buffers");
            try {
                conv.convert(in.data() + b * conv.in_bytes, count * fmt.block_size, first * fmt.block_size,
                             out.data() + b * conv.out_bytes);
            } catch (const lowbit::error& e) {
                fail(bad_data, "'" + in_path + "', row " + std::to_string(row) +
                                   (first ? ", from column " + std::to_string(first * fmt.block_size) : "") + ": " +
                                   e.what());
            }
            b += count;
        }
        if (dst) write_all(dst, out.data(), nblocks * conv.out_bytes, out_path);
        done_blocks += nblocks;
    }
    if (dst && std::fflush(dst) != 0) fail(bad_data, "cannot write '" + out_path + "': " + std::strerror(errno));
}

/// convert_stream between files; on failure OUT is removed, so no partial output looks complete.
/// "-" stands for stdin as IN and for `out` as OUT.
inline void convert_file(const format_entry& fmt, const conversion& conv, std::size_t cols, const std::string& in_path,
                         const std::string& out_path, std::FILE* out) {
    const file_ptr src = open_file(in_path, false, stdin);
    file_ptr dst = open_file(out_path, true, out);
    try {
        convert_stream(fmt, conv, cols, src.get(), in_path, dst.get(), out_path);
    } catch (...) {
        dst.reset();
        std::error_code ec;  // only a regular file: OUT may be a device such as /dev/full
        if (out_path != "-" && std::filesystem::is_regular_file(out_path, ec)) std::remove(out_path.c_str());
        throw;
    }
}

inline std::string usage() {
    return "usage: lowbit quantize   --format FMT --cols N [--method M] [--importance FILE] [--calib ACTS] IN OUT\n"
           "       lowbit dequantize --format FMT --cols N IN OUT\n"
           "       lowbit error      --format FMT --cols N [--method M] [--importance FILE] [--calib ACTS] IN\n"
           "       lowbit formats\n"
           "       lowbit inspect    FILE.gguf [--context N]\n"
           "       lowbit requantize IN.gguf OUT.gguf --type TYPE [--method M] [--calib DIR] [--embeddings] [--threads N]\n"
           "       lowbit bench-model FILE.gguf [--threads N] [--batch B] [--seconds S]\n"
           "       lowbit --version | --help\n"
           "\n"
           "quantize    IN holds raw little-endian float32 rows of N values; OUT gets each row's packed blocks,\n"
           "            byte-identical to GGUF tensor data of that format with --method rtn (the default)\n"
           "dequantize  the reverse: packed rows of N values in IN, float32 rows in OUT\n"
           "error       quantizes and dequantizes IN and prints the format's bits per weight, the RMSE and the\n"
           "            largest absolute error, the SNR in dB (10 log10 of sum x^2 / sum (x - y)^2) and, with\n"
           "            --importance, the RMSE weighted by importance; with --calib, the output SNR of the layer on\n"
           "            those activations, 10 log10 ||X W^T||^2 / ||X (W - W_hat)^T||^2 (any method)\n"
           "formats     lists the formats: name, values per block, bytes per block, bits per weight\n"
           "inspect     a GGUF file's metadata summary, tensor table (name, type, shape, bytes), totals per type,\n"
           "            bits per weight, weight memory, and the KV-cache memory at --context N values (default: the\n"
           "            model's context length) for f16, q8_0 and q4_0 caches\n"
           "requantize  writes IN.gguf with its weight matrices (2-D or more, named *weight; not the token\n"
           "            embeddings unless --embeddings) converted to TYPE: a weight format (every matrix in it), or\n"
           "            a llama.cpp mix: Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M (output.weight and\n"
           "            some attn_v, ffn_down, attn_output, attn_qkv matrices get more bits). Rows that are not\n"
           "            whole K blocks fall back to q4_0/q5_0/q5_1/q8_0. Everything else, and all metadata, is\n"
           "            copied; progress goes to standard error\n"
           "bench-model runs a GEMV (generation) and a GEMM of B rows (prompt, default 64) over every weight\n"
           "            matrix in a lowbit format, as a forward pass would, each timed for S seconds (default 2;\n"
           "            medians), and prints tokens/s, GB/s of weights read and the % of the read bandwidth\n"
           "            measured in the same run. --threads: default all of the machine's\n"
           "\n"
           "--method rtn     round to nearest: the formats' reference quantizers (default)\n"
           "--method search  minimizes each block's (importance-weighted) squared error; slower, never worse;\n"
           "                 weight formats only (not q8_1, q8_K)\n"
           "--method seqmse, --method gptq  minimize the layer's output error on the activations of --calib\n"
           "                 (calibration.hpp): blocks chosen in order given the earlier errors, or GPTQ's\n"
           "                 error feedback; weight formats only\n"
           "--calib ACTS     raw little-endian float32 activation rows of N values (the layer's inputs);\n"
           "                 requantize: --calib DIR holds <tensor name>.f32 per tensor (others get search)\n"
           "--importance FILE  N little-endian float32 weights, finite and >= 0, one per column, for every row\n"
           "\n"
           "N must be a multiple of the format's block size; IN or OUT may be '-' (standard input/output).\n"
           "Exit status: 0 success, 1 bad data or I/O error (OUT is removed), 2 bad usage.\n";
}


/// `quantize` and `dequantize`: options in any order, then IN and OUT.
inline int convert_command(bool quantizing, const std::vector<std::string>& args, std::FILE* out) {
    const unsigned groups = quantizing ? format_options | quantizer_options : unsigned{format_options};
    const command_line line = parse_command(quantizing ? "quantize" : "dequantize", args, groups, 2, "IN and OUT");
    const format_entry& fmt = find_format(line.format);
    const std::size_t n = checked_cols(fmt, line.cols);
    const quantizer q = parse_quantizer(fmt, line, n);
    const std::string &in_path = line.paths[0], &out_path = line.paths[1];
    std::error_code ec;
    if (in_path != "-" && out_path != "-" && std::filesystem::equivalent(in_path, out_path, ec))
        fail(bad_usage, "IN and OUT are the same file ('" + out_path + "')");

    const conversion to_blocks{fmt.block_size * sizeof(float), fmt.block_bytes,
                               [&](const unsigned char* x, std::size_t count, std::size_t first_col, unsigned char* y) {
                                   if (q.calibrated())
                                       fmt.quantize_rows(reinterpret_cast<const float*>(x), count / n, n, y, q.at(0));
                                   else
                                       fmt.quantize(reinterpret_cast<const float*>(x), count, y, q.at(first_col));
                               },
                               q.calibrated()};
    const conversion to_floats{fmt.block_bytes, fmt.block_size * sizeof(float),
                               [&](const unsigned char* x, std::size_t count, std::size_t, unsigned char* y) {
                                   fmt.dequantize(x, count, reinterpret_cast<float*>(y));
                               }};
    convert_file(fmt, quantizing ? to_blocks : to_floats, n, in_path, out_path, out);
    return 0;
}

/// `error`: streams IN through fake quantization and prints the error statistics.
inline int error_command(const std::vector<std::string>& args, std::FILE* out) {
    const command_line line = parse_command("error", args, format_options | quantizer_options, 1, "IN");
    const format_entry& fmt = find_format(line.format);
    const std::size_t n = checked_cols(fmt, line.cols);
    const quantizer q = parse_quantizer(fmt, line, n, true);
    const std::string& in_path = line.paths[0];

    // Sums in double: 2^24 and more float terms would lose the small ones.
    double values = 0, sum_xx = 0, sum_ee = 0, max_abs = 0, sum_w = 0, sum_wee = 0, out_energy = 0, out_error = 0;
    using rows_f = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::MatrixXf h = q.calibration ? Eigen::MatrixXf(q.calibration->hessian().cast<float>()) : Eigen::MatrixXf();
    std::vector<unsigned char> blocks;
    const conversion measure{
        fmt.block_size * sizeof(float), fmt.block_size * sizeof(float),
        [&](const unsigned char* in, std::size_t count, std::size_t first_col, unsigned char* buffer) {
            const auto* x = reinterpret_cast<const float*>(in);
            auto* y = reinterpret_cast<float*>(buffer);
            if (q.calibrated()) {
                blocks.resize(count / fmt.block_size * fmt.block_bytes);
                fmt.quantize_rows(x, count / n, n, blocks.data(), q.at(0));
                fmt.dequantize(blocks.data(), count, y);
            } else {
                fmt.fake_quantize(x, count, y, q.at(first_col));
            }
            if (q.calibration) {  // whole rows: x H x^T and e H e^T
                const auto rows = static_cast<Eigen::Index>(count / n), cols = static_cast<Eigen::Index>(n);
                const Eigen::Map<const rows_f> xs(x, rows, cols), ys(y, rows, cols);
                const rows_f e = xs - ys;
                out_energy += static_cast<double>(((xs * h).cwiseProduct(xs)).template cast<double>().sum());
                out_error += static_cast<double>(((e * h).cwiseProduct(e)).template cast<double>().sum());
            }
            for (std::size_t i = 0; i < count; ++i) {
                const double e = static_cast<double>(x[i]) - y[i];
                sum_xx += static_cast<double>(x[i]) * x[i];
                sum_ee += e * e;
                max_abs = std::max(max_abs, std::fabs(e));
                if (!q.importance.empty()) {
                    sum_w += q.importance[first_col + i];
                    sum_wee += q.importance[first_col + i] * e * e;
                }
            }
            values += static_cast<double>(count);
        },
        q.calibration != nullptr};
    const file_ptr src = open_file(in_path, false, stdin);
    convert_stream(fmt, measure, n, src.get(), in_path, nullptr, "");
    if (values == 0) fail(bad_data, "'" + in_path + "' holds no rows");

    std::fprintf(out, "format          %s\n", fmt.name);
    std::fprintf(out, "method          %s\n", q.method_name());
    std::fprintf(out, "values          %.0f\n", values);
    std::fprintf(out, "bits_per_weight %g\n", fmt.bits_per_weight);
    std::fprintf(out, "rmse            %.6g\n", std::sqrt(sum_ee / values));
    std::fprintf(out, "max_abs_error   %.6g\n", max_abs);
    // No error at all is an infinite SNR (also for an all-zero input).
    std::fprintf(out, "snr_db          %.4f\n", sum_ee == 0 ? HUGE_VAL : 10.0 * std::log10(sum_xx / sum_ee));
    if (!q.importance.empty()) {
        // sqrt(sum w (x - y)^2 / sum w) over all values, w the weight of each value's column; all-zero weights
        // weigh nothing, so there is no weighted error to report.
        if (sum_w > 0) std::fprintf(out, "weighted_rmse   %.6g\n", std::sqrt(sum_wee / sum_w));
        else std::fprintf(out, "weighted_rmse   nan\n");
    }
    // The layer's output on the calibration tokens X: 10 log10 ||X W^T||^2 / ||X (W - W_hat)^T||^2.
    if (q.calibration)
        std::fprintf(out, "output_snr_db   %.4f\n", out_error == 0 ? HUGE_VAL : 10.0 * std::log10(out_energy / out_error));
    return 0;
}

inline int formats_command(std::FILE* out) {
    std::fprintf(out, "%-8s %10s %11s %15s\n", "# format", "block_size", "block_bytes", "bits_per_weight");
    for (const format_entry& f : formats())
        std::fprintf(out, "%-8s %10zu %11zu %15g\n", f.name, f.block_size, f.block_bytes, f.bits_per_weight);
    return 0;
}

}  // namespace lowbit::cli::detail

namespace lowbit::cli {

/// Runs the tool on argv[1..argc): writes results to `out` and messages to `err`; returns the exit status.
inline int run(int argc, char** argv, std::FILE* out, std::FILE* err) {
    const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + (argc > 0 ? argc : 0));
    try {
        if (args.empty()) detail::fail(detail::bad_usage, "missing command\n\n" + detail::usage());
        const std::string& command = args[0];
        const std::vector<std::string> rest(args.begin() + 1, args.end());
        if (command == "--help" || command == "-h" || command == "help" ||
            (rest.size() == 1 && (rest[0] == "--help" || rest[0] == "-h"))) {
            std::fputs(detail::usage().c_str(), out);
            return 0;
        }
        if (command == "--version") {
            std::fprintf(out, "lowbit %s (backend %s)\n", LOWBIT_VERSION_STRING, backend_description<default_backend>());
            return 0;
        }
        if (command == "formats") {
            if (!rest.empty()) detail::fail(detail::bad_usage, "'formats' takes no arguments");
            return detail::formats_command(out);
        }
        if (command == "quantize" || command == "dequantize") return detail::convert_command(command == "quantize", rest, out);
        if (command == "error") return detail::error_command(rest, out);
        if (command == "inspect") return detail::inspect_command(rest, out);
        if (command == "requantize") return detail::requantize_command(rest, out, err);
        if (command == "bench-model") return detail::bench_model_command(rest, out);
        detail::fail(detail::bad_usage, "unknown command '" + command + "' (try 'lowbit --help')");
    } catch (const detail::failure& f) {
        std::fprintf(err, "lowbit: %s\n", f.message.c_str());
        return f.status;
    } catch (const std::exception& e) {  // std::bad_alloc and the like
        std::fprintf(err, "lowbit: %s\n", e.what());
        return detail::bad_data;
    }
}

}  // namespace lowbit::cli
