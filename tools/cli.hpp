#pragma once
/// \file tools/cli.hpp
/// The `lowbit` command-line tool, as a function that a test or a fuzzer can call: run() never exits and
/// never throws; it reports on `err` and returns the exit status.
///
///   lowbit quantize   --format FMT --cols N [--method rtn|search] [--importance FILE] IN OUT
///                                                    raw little-endian float32 rows of N values -> packed blocks
///   lowbit dequantize --format FMT --cols N IN OUT   packed blocks -> float32 rows of N values
///   lowbit error      --format FMT --cols N [--method rtn|search] [--importance FILE] IN
///                                                    the error of quantizing IN: RMSE, max |error|, SNR
///   lowbit formats                                   one line per format: name, block size, bytes per block,
///                                                    bits per weight
///   lowbit inspect FILE.gguf [--context N]           a GGUF model's metadata summary, tensor table, totals per
///                                                    type, bits per weight, and weight and KV-cache memory
///   lowbit --version | --help
///
/// IN or OUT may be "-" for standard input or output. Files are streamed in chunks of about 4 MiB whatever
/// their size. Exit status: 0 on success, 1 on bad data or I/O errors (OUT is then removed), 2 on bad usage.
#include <lowbit/gguf.hpp>
#include <lowbit/lowbit.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::cli {

/// What the tool needs to know about one format, with its kernels on the default backend. The kernels take n
/// values (a multiple of block_size) and throw lowbit::error; `fake_quantize` is lowbit::fake_quantize_row.
struct format_entry {
    const char* name;
    std::size_t block_size;
    std::size_t block_bytes;
    double bits_per_weight;
    bool has_search;  // supports quant_method::search
    void (*quantize)(const float* x, std::size_t n, void* y, const quant_options& options);
    void (*dequantize)(const void* x, std::size_t n, float* y);
    void (*fake_quantize)(const float* x, std::size_t n, float* y, const quant_options& options);
};

namespace detail {
template <class Fmt>
format_entry entry_of() {
    using block = typename Fmt::block;
    return {Fmt::name(), Fmt::block_size, Fmt::block_bytes, Fmt::bits_per_weight, has_search<Fmt>,
            [](const float* x, std::size_t n, void* y, const quant_options& options) {
                quantize_row(x, n, static_cast<block*>(y), options);
            },
            [](const void* x, std::size_t n, float* y) { dequantize_row(static_cast<const block*>(x), n, y); },
            [](const float* x, std::size_t n, float* y, const quant_options& options) {
                fake_quantize_row<Fmt>(x, n, y, nullptr, options);
            }};
}

template <class... Fmts>
std::vector<format_entry> entries_of(type_list<Fmts...>) {
    return {entry_of<Fmts>()...};
}
}  // namespace detail

/// Every format of lowbit::all_formats, in its order.
inline const std::vector<format_entry>& formats() {
    static const std::vector<format_entry> table = detail::entries_of(all_formats{});
    return table;
}

namespace detail {

/// A failure to report: exit status and message.
struct failure {
    int status;
    std::string message;
};
constexpr int bad_data = 1;
constexpr int bad_usage = 2;

[[noreturn]] inline void fail(int status, const std::string& message) { throw failure{status, message}; }

inline bool same_name(const char* a, const std::string& b) {
    if (std::strlen(a) != b.size()) return false;
    for (std::size_t i = 0; i < b.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

/// Format names are matched without regard to case, so GGUF's "Q4_0" works too.
inline const format_entry& find_format(const std::string& name) {
    std::string known;
    for (const format_entry& f : formats()) {
        if (same_name(f.name, name)) return f;
        known += known.empty() ? f.name : std::string(", ") + f.name;
    }
    fail(bad_usage, "unknown format '" + name + "' (known formats: " + known + ")");
}

/// The value of `option` (e.g. "--cols"), a positive number of `unit`s.
inline std::size_t parse_positive(const char* option, const std::string& text, const char* unit) {
    std::size_t value = 0;
    const std::string error = std::string(option) + ": '" + text + "' is not a positive number of " + unit;
    // Digits only: stoul would accept "-1", "+5" and "12abc".
    for (char c : text) {
        if (c < '0' || c > '9' || value > (SIZE_MAX / 4 - 9) / 10) fail(bad_usage, error);
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (value == 0) fail(bad_usage, error);
    return value;
}

/// Closes the files it opened, not the standard streams that "-" stands for.
struct file_closer {
    bool owned;
    void operator()(std::FILE* f) const noexcept {
        if (owned) std::fclose(f);
    }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

/// Opens `path`, or returns `standard` for "-".
inline file_ptr open_file(const std::string& path, bool write, std::FILE* standard) {
    if (path == "-") return file_ptr(standard, file_closer{false});
    std::FILE* f = std::fopen(path.c_str(), write ? "wb" : "rb");
    if (!f) fail(bad_data, "cannot open '" + path + "' for " + (write ? "writing" : "reading") + ": " + std::strerror(errno));
    return file_ptr(f, file_closer{true});
}

/// Reads up to `bytes` bytes; fewer only at the end of the input.
inline std::size_t read_some(std::FILE* f, void* buffer, std::size_t bytes, const std::string& path) {
    const std::size_t got = std::fread(buffer, 1, bytes, f);
    if (got < bytes && std::ferror(f)) fail(bad_data, "cannot read '" + path + "': " + std::strerror(errno));
    return got;
}

inline void write_all(std::FILE* f, const void* buffer, std::size_t bytes, const std::string& path) {
    if (std::fwrite(buffer, 1, bytes, f) != bytes) fail(bad_data, "cannot write '" + path + "': " + std::strerror(errno));
}

/// One pass over the input: `in_bytes` / `out_bytes` per block of input / output, and the kernel, which
/// converts n values (whole blocks, starting at column `first_col` of a row) and throws lowbit::error on bad
/// input.
struct conversion {
    std::size_t in_bytes, out_bytes;
    std::function<void(const unsigned char* in, std::size_t n, std::size_t first_col, unsigned char* out)> convert;
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
            const std::size_t count = std::min(nblocks - b, blocks_per_row - first);
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
    return "usage: lowbit quantize   --format FMT --cols N [--method rtn|search] [--importance FILE] IN OUT\n"
           "       lowbit dequantize --format FMT --cols N IN OUT\n"
           "       lowbit error      --format FMT --cols N [--method rtn|search] [--importance FILE] IN\n"
           "       lowbit formats\n"
           "       lowbit inspect    FILE.gguf [--context N]\n"
           "       lowbit --version | --help\n"
           "\n"
           "quantize    IN holds raw little-endian float32 rows of N values; OUT gets each row's packed blocks,\n"
           "            byte-identical to GGUF tensor data of that format with --method rtn (the default)\n"
           "dequantize  the reverse: packed rows of N values in IN, float32 rows in OUT\n"
           "error       quantizes and dequantizes IN and prints the format's bits per weight, the RMSE and the\n"
           "            largest absolute error, the SNR in dB (10 log10 of sum x^2 / sum (x - y)^2) and, with\n"
           "            --importance, the RMSE weighted by importance\n"
           "formats     lists the formats: name, values per block, bytes per block, bits per weight\n"
           "inspect     a GGUF file's metadata summary, tensor table (name, type, shape, bytes), totals per type,\n"
           "            bits per weight, weight memory, and the KV-cache memory at --context N values (default: the\n"
           "            model's context length) for f16, q8_0 and q4_0 caches\n"
           "\n"
           "--method rtn     round to nearest: the formats' reference quantizers (default)\n"
           "--method search  minimizes each block's (importance-weighted) squared error; slower, never worse;\n"
           "                 weight formats only (not q8_1, q8_K)\n"
           "--importance FILE  N little-endian float32 weights, finite and >= 0, one per column, for every row\n"
           "\n"
           "N must be a multiple of the format's block size; IN or OUT may be '-' (standard input/output).\n"
           "Exit status: 0 success, 1 bad data or I/O error (OUT is removed), 2 bad usage.\n";
}

/// A command's options (in any order, as "--name VALUE" or "--name=VALUE") and paths.
struct command_line {
    std::string format, cols, method, importance, context;
    std::vector<std::string> paths;
};

/// The options a command takes, ORed: --format and --cols (both required), --method and --importance, --context.
enum option_group : unsigned { format_options = 1, quantizer_options = 2, context_option = 4 };

/// Parses the options of `command` (those of `groups`) and exactly `npaths` paths, named `paths_name` in
/// messages ("IN and OUT").
inline command_line parse_command(const std::string& command, const std::vector<std::string>& args, unsigned groups,
                                  std::size_t npaths, const std::string& paths_name) {
    command_line line;
    const struct {
        const char* name;
        std::string* value;
        unsigned group;
    } options[] = {{"--format", &line.format, format_options},
                   {"--cols", &line.cols, format_options},
                   {"--method", &line.method, quantizer_options},
                   {"--importance", &line.importance, quantizer_options},
                   {"--context", &line.context, context_option}};
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        bool matched = false;
        for (const auto& o : options) {
            const std::string name = o.name;
            const bool joined = a.rfind(name + "=", 0) == 0;
            if (a != name && !joined) continue;
            if (!(o.group & groups)) fail(bad_usage, "'" + command + "' takes no " + name);
            if (!joined && i + 1 == args.size()) fail(bad_usage, a + " needs a value");
            *o.value = joined ? a.substr(name.size() + 1) : args[++i];
            matched = true;
        }
        if (matched) continue;
        if (a.size() > 1 && a[0] == '-') fail(bad_usage, "unknown option '" + a + "'");
        if (line.paths.size() == npaths) fail(bad_usage, "too many arguments: '" + a + "' after " + paths_name);
        line.paths.push_back(a);
    }
    if ((groups & format_options) && line.format.empty()) fail(bad_usage, "missing --format FMT");
    if ((groups & format_options) && line.cols.empty()) fail(bad_usage, "missing --cols N");
    if (line.paths.size() != npaths) fail(bad_usage, "expected " + paths_name + (npaths == 1 ? " path" : " paths"));
    return line;
}

/// The row length of --cols, checked against the format's block.
inline std::size_t checked_cols(const format_entry& fmt, const std::string& cols) {
    const std::size_t n = parse_positive("--cols", cols, "columns");
    if (n % fmt.block_size != 0)
        fail(bad_usage, "--cols " + cols + " is not a multiple of " + fmt.name + "'s block of " +
                            std::to_string(fmt.block_size) + " values");
    return n;
}

/// --method and --importance: the method, and the n importance weights (empty without --importance).
struct quantizer {
    quant_method method = quant_method::round_to_nearest;
    std::vector<float> importance;

    /// The options for a segment of a row that starts at column first_col.
    quant_options at(std::size_t first_col) const {
        return {method, importance.empty() ? nullptr : importance.data() + first_col};
    }
};

inline quantizer parse_quantizer(const format_entry& fmt, const command_line& line, std::size_t n) {
    quantizer q;
    if (line.method == "search") {
        if (!fmt.has_search)
            fail(bad_usage, std::string("--method search supports the weight formats only, not ") + fmt.name);
        q.method = quant_method::search;
    } else if (!line.method.empty() && line.method != "rtn") {
        fail(bad_usage, "--method: '" + line.method + "' is not rtn or search");
    }
    if (line.importance.empty()) return q;
    if (line.importance == "-" && line.paths[0] == "-")
        fail(bad_usage, "IN and --importance cannot both be standard input");
    const file_ptr f = open_file(line.importance, false, stdin);
    q.importance.resize(n + 1);  // one more, to tell a longer file
    if (read_some(f.get(), q.importance.data(), (n + 1) * sizeof(float), line.importance) != n * sizeof(float))
        fail(bad_data, "importance file '" + line.importance + "' must hold exactly " + std::to_string(n) +
                           " float32 weights (" + std::to_string(n * sizeof(float)) + " bytes), one per column");
    q.importance.pop_back();
    for (std::size_t i = 0; i < n; ++i)
        if (!(std::isfinite(q.importance[i]) && q.importance[i] >= 0.0f))
            fail(bad_data, "importance file '" + line.importance + "': weight " + std::to_string(i) + " is " +
                               std::to_string(q.importance[i]) + "; weights must be finite and >= 0");
    return q;
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
                                   fmt.quantize(reinterpret_cast<const float*>(x), count, y, q.at(first_col));
                               }};
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
    const quantizer q = parse_quantizer(fmt, line, n);
    const std::string& in_path = line.paths[0];

    // Sums in double: 2^24 and more float terms would lose the small ones.
    double values = 0, sum_xx = 0, sum_ee = 0, max_abs = 0, sum_w = 0, sum_wee = 0;
    const conversion measure{
        fmt.block_size * sizeof(float), fmt.block_size * sizeof(float),
        [&](const unsigned char* in, std::size_t count, std::size_t first_col, unsigned char* buffer) {
            const auto* x = reinterpret_cast<const float*>(in);
            auto* y = reinterpret_cast<float*>(buffer);
            fmt.fake_quantize(x, count, y, q.at(first_col));
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
        }};
    const file_ptr src = open_file(in_path, false, stdin);
    convert_stream(fmt, measure, n, src.get(), in_path, nullptr, "");
    if (values == 0) fail(bad_data, "'" + in_path + "' holds no rows");

    std::fprintf(out, "format          %s\n", fmt.name);
    std::fprintf(out, "method          %s\n", q.method == quant_method::search ? "search" : "rtn");
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
    return 0;
}

inline int formats_command(std::FILE* out) {
    std::fprintf(out, "%-8s %10s %11s %15s\n", "# format", "block_size", "block_bytes", "bits_per_weight");
    for (const format_entry& f : formats())
        std::fprintf(out, "%-8s %10zu %11zu %15g\n", f.name, f.block_size, f.block_bytes, f.bits_per_weight);
    return 0;
}

/// A metadata value as text: strings as they are, numbers, and arrays as their type and length.
inline std::string describe(const gguf::value& v) {
    switch (v.type()) {
        case gguf::value_type::string: return gguf::detail::printable(v.get<std::string_view>());
        case gguf::value_type::boolean: return v.get<bool>() ? "true" : "false";
        case gguf::value_type::float32: return std::to_string(v.get<float>());
        case gguf::value_type::float64: return std::to_string(v.get<double>());
        case gguf::value_type::int8: return std::to_string(v.get<std::int8_t>());
        case gguf::value_type::int16: return std::to_string(v.get<std::int16_t>());
        case gguf::value_type::int32: return std::to_string(v.get<std::int32_t>());
        case gguf::value_type::int64: return std::to_string(v.get<std::int64_t>());
        case gguf::value_type::array:
            return std::string("array of ") + std::to_string(v.size()) + " " + gguf::type_name(v.element_type());
        default: return std::to_string(v.get_unsigned());
    }
}

/// The value of an integer key, or 0 where it is missing or not an integer (e.g. a per-layer array).
inline std::uint64_t model_count(const gguf::file& model, const std::string& key) {
    const gguf::value* v = model.find(key);
    return v && gguf::is_integer(v->type()) ? v->get_unsigned() : 0;
}

inline std::string with_mib(double bytes) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.0f (%.2f MiB)", bytes, bytes / (1024.0 * 1024.0));
    return text;
}

/// Bytes per value of a KV cache stored in Fmt.
template <class Fmt>
constexpr double bytes_per_value() {
    return static_cast<double>(Fmt::block_bytes) / Fmt::block_size;
}

/// `inspect`: what a GGUF model holds and the memory it needs.
inline int inspect_command(const std::vector<std::string>& args, std::FILE* out) {
    const command_line line = parse_command("inspect", args, context_option, 1, "FILE.gguf");
    const std::size_t context_option_value =
        line.context.empty() ? 0 : parse_positive("--context", line.context, "tokens");
    const gguf::file model(line.paths[0]);
    std::fprintf(out, "%-32s %s\n", "file", line.paths[0].c_str());
    std::fprintf(out, "%-32s %u\n", "gguf_version", model.version());
    std::fprintf(out, "%-32s %llu\n", "alignment", static_cast<unsigned long long>(model.alignment()));
    const gguf::value* arch_value = model.find("general.architecture");
    const std::string arch = arch_value && arch_value->type() == gguf::value_type::string
                                 ? std::string(arch_value->get<std::string_view>())
                                 : "";
    const std::string keys[] = {"general.architecture",         "general.name",
                                arch + ".context_length",       arch + ".block_count",
                                arch + ".embedding_length",     arch + ".attention.head_count",
                                arch + ".attention.head_count_kv"};
    for (const std::string& key : keys)
        if (const gguf::value* v = model.find(key))
            std::fprintf(out, "%-32s %s\n", gguf::detail::printable(key).c_str(), describe(*v).c_str());

    struct type_total {
        const gguf::tensor_type* type;
        std::size_t tensors = 0;
        double weights = 0, bytes = 0;
    };
    std::vector<type_total> totals;  // in order of first appearance
    std::size_t name_width = 6;
    for (const gguf::tensor& t : model.tensors()) name_width = std::max(name_width, std::min<std::size_t>(t.name.size(), 64));
    const int width = static_cast<int>(name_width);
    std::fprintf(out, "\n%-*s %-8s %-24s %14s\n", width, "# tensor", "type", "shape", "bytes");
    for (const gguf::tensor& t : model.tensors()) {
        std::string shape = std::to_string(t.ne[0]);
        for (std::uint32_t d = 1; d < t.n_dims; ++d) shape += " x " + std::to_string(t.ne[d]);
        std::fprintf(out, "%-*s %-8s %-24s %14llu\n", width, gguf::detail::printable(t.name).c_str(), t.type->name,
                     shape.c_str(), static_cast<unsigned long long>(t.bytes));
        auto total = std::find_if(totals.begin(), totals.end(), [&](const type_total& x) { return x.type == t.type; });
        if (total == totals.end()) total = totals.insert(totals.end(), type_total{t.type});
        total->tensors += 1;
        total->weights += static_cast<double>(t.elements());
        total->bytes += static_cast<double>(t.bytes);
    }
    type_total all{nullptr};
    std::fprintf(out, "\n%-8s %8s %16s %16s %16s\n", "# type", "tensors", "weights", "bytes", "bits_per_weight");
    for (const type_total& x : totals) {
        std::fprintf(out, "%-8s %8zu %16.0f %16.0f %16.4f\n", x.type->name, x.tensors, x.weights, x.bytes,
                     8 * x.bytes / x.weights);
        all.tensors += x.tensors;
        all.weights += x.weights;
        all.bytes += x.bytes;
    }

    std::fprintf(out, "\n%-32s %zu\n", "tensors", all.tensors);
    std::fprintf(out, "%-32s %.0f\n", "weights", all.weights);
    if (all.weights > 0) std::fprintf(out, "%-32s %.4f\n", "bits_per_weight", 8 * all.bytes / all.weights);
    std::fprintf(out, "%-32s %s\n", "weight_memory", with_mib(all.bytes).c_str());

    // K and V of every layer: head_count_kv heads (head_count where the file has no GQA key) of
    // embedding_length / head_count values per token of context.
    const std::uint64_t context =
        context_option_value ? context_option_value : model_count(model, arch + ".context_length");
    const std::uint64_t layers = model_count(model, arch + ".block_count");
    const std::uint64_t heads = model_count(model, arch + ".attention.head_count");
    const std::uint64_t kv_heads = model.find(arch + ".attention.head_count_kv")
                                       ? model_count(model, arch + ".attention.head_count_kv")
                                       : heads;
    const std::uint64_t embedding = model_count(model, arch + ".embedding_length");
    if (context == 0 || layers == 0 || heads == 0 || kv_heads == 0 || embedding == 0) {
        std::fprintf(out, "%-32s unknown: needs <arch>.block_count, .embedding_length, .attention.head_count "
                          "and a context length\n", "kv_cache");
        return 0;
    }
    const double values = 2.0 * static_cast<double>(layers) * static_cast<double>(kv_heads) *
                          static_cast<double>(embedding / heads) * static_cast<double>(context);
    std::fprintf(out, "%-32s %llu\n", "kv_context", static_cast<unsigned long long>(context));
    std::fprintf(out, "%-32s %s\n", "kv_cache_f16", with_mib(values * 2).c_str());
    std::fprintf(out, "%-32s %s\n", "kv_cache_q8_0", with_mib(values * bytes_per_value<q8_0>()).c_str());
    std::fprintf(out, "%-32s %s\n", "kv_cache_q4_0", with_mib(values * bytes_per_value<q4_0>()).c_str());
    return 0;
}

}  // namespace detail

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
