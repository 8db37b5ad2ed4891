#pragma once
/// \file tools/cli_common.hpp
/// What the commands of the `lowbit` tool (tools/cli.hpp) share: the format table, failures as exit statuses,
/// files, and the option parser.
#include <lowbit/calibration.hpp>
#include <lowbit/lowbit.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
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
    bool has_search;  // supports quant_method::search: a weight format (not an activation format)
    std::uint32_t ggml_type;
    void (*quantize)(const float* x, std::size_t n, void* y, const quant_options& options);
    void (*dequantize)(const void* x, std::size_t n, float* y);
    void (*fake_quantize)(const float* x, std::size_t n, float* y, const quant_options& options);
    /// rows x cols values (lowbit::quantize of a matrix: seqmse and gptq share work between rows).
    void (*quantize_rows)(const float* x, std::size_t rows, std::size_t cols, void* y, const quant_options& options);
};

namespace detail {
template <class Fmt>
format_entry entry_of() {
    using block = typename Fmt::block;
    return {Fmt::name(), Fmt::block_size, Fmt::block_bytes, Fmt::bits_per_weight, has_search<Fmt>, Fmt::ggml_type,
            [](const float* x, std::size_t n, void* y, const quant_options& options) {
                quantize_row(x, n, static_cast<block*>(y), options);
            },
            [](const void* x, std::size_t n, float* y) { dequantize_row(static_cast<const block*>(x), n, y); },
            [](const float* x, std::size_t n, float* y, const quant_options& options) {
                fake_quantize_row<Fmt>(x, n, y, nullptr, options);
            },
            [](const float* x, std::size_t rows, std::size_t cols, void* y, const quant_options& options) {
                quantize(matrix_view<const float>(x, rows, cols), qmatrix_view<Fmt>(static_cast<block*>(y), rows, cols),
                         options);
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


/// A command's options (in any order, as "--name VALUE" or "--name=VALUE") and paths.
struct command_line {
    std::string format, cols, method, importance, calib, context, type, threads, batch, seconds;
    bool embeddings = false, packed = false;  // flags: no value
    std::vector<std::string> paths;
};

/// The options a command takes, ORed: --format and --cols (both required), --method, --importance and --calib,
/// --context, --type (required) and --embeddings, --threads, --batch, --seconds, --packed.
enum option_group : unsigned {
    format_options = 1,
    quantizer_options = 2,
    context_option = 4,
    type_options = 8,
    threads_option = 16,
    batch_option = 32,
    seconds_option = 64,
    packed_option = 128
};

/// Parses the options of `command` (those of `groups`) and exactly `npaths` paths, named `paths_name` in
/// messages ("IN and OUT").
inline command_line parse_command(const std::string& command, const std::vector<std::string>& args, unsigned groups,
                                  std::size_t npaths, const std::string& paths_name) {
    command_line line;
    const struct {
        const char* name;
        std::string* value;  // nullptr for a flag
        unsigned group;
        bool* flag = nullptr;
    } options[] = {{"--format", &line.format, format_options},
                   {"--cols", &line.cols, format_options},
                   {"--method", &line.method, quantizer_options},
                   {"--importance", &line.importance, quantizer_options},
                   {"--calib", &line.calib, quantizer_options},
                   {"--context", &line.context, context_option},
                   {"--type", &line.type, type_options},
                   {"--embeddings", nullptr, type_options, &line.embeddings},
                   {"--packed", nullptr, packed_option, &line.packed},
                   {"--threads", &line.threads, threads_option},
                   {"--batch", &line.batch, batch_option},
                   {"--seconds", &line.seconds, seconds_option}};
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        bool matched = false;
        for (const auto& o : options) {
            const std::string name = o.name;
            const bool joined = a.rfind(name + "=", 0) == 0;
            if (a != name && !joined) continue;
            if (!(o.group & groups)) fail(bad_usage, "'" + command + "' takes no " + name);
            if (!o.value) {
                if (joined) fail(bad_usage, name + " takes no value");
                *o.flag = true;
            } else {
                if (!joined && i + 1 == args.size()) fail(bad_usage, a + " needs a value");
                *o.value = joined ? a.substr(name.size() + 1) : args[++i];
            }
            matched = true;
        }
        if (matched) continue;
        if (a.size() > 1 && a[0] == '-') fail(bad_usage, "unknown option '" + a + "'");
        if (line.paths.size() == npaths) fail(bad_usage, "too many arguments: '" + a + "' after " + paths_name);
        line.paths.push_back(a);
    }
    if ((groups & format_options) && line.format.empty()) fail(bad_usage, "missing --format FMT");
    if ((groups & format_options) && line.cols.empty()) fail(bad_usage, "missing --cols N");
    if ((groups & type_options) && line.type.empty()) fail(bad_usage, "missing --type TYPE");
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

/// --method, --importance and --calib: the method, the n importance weights (empty without --importance), and the
/// statistics of the activations (seqmse and gptq).
struct quantizer {
    quant_method method = quant_method::round_to_nearest;
    std::vector<float> importance;
    std::unique_ptr<calibration_stats> calibration;
    std::unique_ptr<thread_pool> pool;

    bool calibrated() const noexcept { return method == quant_method::seqmse || method == quant_method::gptq; }
    const char* method_name() const noexcept {
        constexpr const char* names[] = {"rtn", "search", "seqmse", "gptq"};
        return names[static_cast<int>(method)];
    }
    /// The options for a segment of a row that starts at column first_col.
    quant_options at(std::size_t first_col) const {
        quant_options o;
        o.method = method;
        o.importance = importance.empty() ? nullptr : importance.data() + first_col;
        o.calibration = calibration.get();
        o.pool = pool.get();
        return o;
    }
};

/// Statistics of ACTS.f32 (raw float32 rows of n values), streamed.
inline std::unique_ptr<calibration_stats> read_calibration(const std::string& path, std::size_t n) {
    // The statistics are n x n doubles: 8 GiB at 32768 columns.
    if (n > 32768) fail(bad_usage, "--calib: rows of " + std::to_string(n) + " columns; at most 32768");
    auto stats = std::make_unique<calibration_stats>(n);
    const file_ptr f = open_file(path, false, stdin);
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, (std::size_t{4} << 20) / (n * sizeof(float)));
    std::vector<float> chunk(rows_per_chunk * n);
    std::size_t rows = 0;
    for (bool at_end = false; !at_end;) {
        const std::size_t got = read_some(f.get(), chunk.data(), chunk.size() * sizeof(float), path);
        at_end = got < chunk.size() * sizeof(float);
        if (got % (n * sizeof(float)) != 0)
            fail(bad_data, "calibration file '" + path + "' ends inside a row: its size is not a multiple of " +
                               std::to_string(n * sizeof(float)) + " bytes (rows of " + std::to_string(n) + " float32)");
        try {
            stats->add(matrix_view<const float>(chunk.data(), got / (n * sizeof(float)), n));
        } catch (const lowbit::error& e) {
            fail(bad_data, "calibration file '" + path + "', from row " + std::to_string(rows) + ": " + e.what());
        }
        rows += got / (n * sizeof(float));
    }
    if (rows == 0) fail(bad_data, "calibration file '" + path + "' holds no rows");
    return stats;
}

/// The quantizer of --method, --importance and --calib; --calib with a method other than seqmse and gptq only where
/// `calib_with_any_method` (error: it reports the output error).
inline quantizer parse_quantizer(const format_entry& fmt, const command_line& line, std::size_t n,
                                 bool calib_with_any_method = false) {
    quantizer q;
    const struct {
        const char* name;
        quant_method method;
    } methods[] = {{"rtn", quant_method::round_to_nearest},
                   {"search", quant_method::search},
                   {"seqmse", quant_method::seqmse},
                   {"gptq", quant_method::gptq}};
    bool known = line.method.empty();
    for (const auto& m : methods)
        if (line.method == m.name) {
            q.method = m.method;
            known = true;
        }
    if (!known) fail(bad_usage, "--method: '" + line.method + "' is not rtn, search, seqmse or gptq");
    if (q.method != quant_method::round_to_nearest && !fmt.has_search)
        fail(bad_usage, "--method " + line.method + " supports the weight formats only, not " + fmt.name);
    if (q.calibrated() && line.calib.empty())
        fail(bad_usage, "--method " + line.method + " needs --calib ACTS.f32 (activation rows)");
    if (!q.calibrated() && !line.calib.empty() && !calib_with_any_method)
        fail(bad_usage, "--calib is for --method seqmse or gptq");
    if (!line.calib.empty()) {
        if (line.calib == "-" && line.paths[0] == "-") fail(bad_usage, "IN and --calib cannot both be standard input");
        q.calibration = read_calibration(line.calib, n);
        q.pool = std::make_unique<thread_pool>();
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

}  // namespace detail

}  // namespace lowbit::cli
