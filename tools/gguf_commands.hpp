#pragma once
/// \file tools/gguf_commands.hpp
/// The `lowbit` commands on GGUF model files: inspect, requantize, bench-model.
#include "cli_common.hpp"
#include "read_bandwidth.hpp"

#include <lowbit/gguf.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

namespace lowbit::cli::detail {

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

/// general.architecture, the prefix of the model's keys ("llama"), or "" where it is missing or not a string.
inline std::string architecture(const gguf::file& model) {
    const gguf::value* v = model.find("general.architecture");
    return v && v->type() == gguf::value_type::string ? std::string(v->get<std::string_view>()) : "";
}

inline std::string mib(double bytes) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.2f MiB", bytes / (1024.0 * 1024.0));
    return text;
}

/// "123 (0.00 MiB)": a byte count and its MiB.
inline std::string with_mib(double bytes) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.0f (", bytes);
    return text + mib(bytes) + ")";
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
    const std::string arch = architecture(model);
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


/// The value of --threads: default all of the machine's.
inline unsigned parse_threads(const command_line& line) {
    if (line.threads.empty()) return std::max(1u, std::thread::hardware_concurrency());
    return static_cast<unsigned>(std::min<std::size_t>(parse_positive("--threads", line.threads, "threads"), 1024));
}

inline bool ends_with(std::string_view s, std::string_view end) {
    return s.size() >= end.size() && s.substr(s.size() - end.size()) == end;
}
inline bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// ---- requantize ------------------------------------------------------------------------------------------------

/// A weight-type recipe: one format for every weight ("pure"), or one of llama.cpp's K mixes, which give some
/// tensors more bits (mixed_type).
enum class mix { pure, q3_K_S, q3_K_M, q3_K_L, q4_K_S, q4_K_M, q5_K_S, q5_K_M };

struct recipe {
    mix kind;
    const format_entry* base;  // the format of the weights the mix does not single out
    std::string name;
    std::uint32_t file_type;  // llama.cpp's llama_ftype, stored as general.file_type; 0 where it has none
};

/// --type: a weight format's name (any case) or a mix's name.
inline recipe parse_recipe(const std::string& type) {
    static const struct {
        const char* name;
        mix kind;
        const char* base;
        std::uint32_t file_type;
    } mixes[] = {{"Q3_K_S", mix::q3_K_S, "q3_K", 11}, {"Q3_K_M", mix::q3_K_M, "q3_K", 12},
                 {"Q3_K_L", mix::q3_K_L, "q3_K", 13}, {"Q4_K_S", mix::q4_K_S, "q4_K", 14},
                 {"Q4_K_M", mix::q4_K_M, "q4_K", 15}, {"Q5_K_S", mix::q5_K_S, "q5_K", 16},
                 {"Q5_K_M", mix::q5_K_M, "q5_K", 17}};
    for (const auto& m : mixes)
        if (same_name(m.name, type)) return {m.kind, &find_format(m.base), m.name, m.file_type};
    std::string weight_formats, known_mixes;
    for (const format_entry& f : formats())
        if (f.has_search) weight_formats += std::string(weight_formats.empty() ? "" : ", ") + f.name;
    for (const auto& m : mixes) known_mixes += std::string(known_mixes.empty() ? "" : ", ") + m.name;
    for (const format_entry& f : formats()) {
        if (!same_name(f.name, type)) continue;
        if (!f.has_search) fail(bad_usage, std::string("--type ") + f.name + " is an activation format, not a weight format");
        // llama.cpp's file type of a model mostly in this format (the K formats' nearest: their _S mixes; mxfp4's:
        // MXFP4_MOE, gpt-oss's).
        static const struct {
            const char* format;
            std::uint32_t file_type;
        } file_types[] = {{"q4_0", 2}, {"q4_1", 3}, {"q8_0", 7},  {"q5_0", 8},  {"q5_1", 9},
                          {"q2_K", 10}, {"q3_K", 11}, {"q4_K", 14}, {"q5_K", 16}, {"q6_K", 18},
                          {"iq2_xxs", 19}, {"iq2_xs", 20}, {"iq3_xxs", 23}, {"iq1_s", 24}, {"iq4_nl", 25},
                          {"iq3_s", 26}, {"iq2_s", 28}, {"iq4_xs", 30}, {"iq1_m", 31}, {"tq1_0", 36}, {"tq2_0", 37},
                          {"mxfp4", 38}};
        std::uint32_t file_type = 0;
        for (const auto& ft : file_types)
            if (same_name(ft.format, f.name)) file_type = ft.file_type;
        return {mix::pure, &f, f.name, file_type};
    }
    fail(bad_usage, "unknown --type '" + type + "' (weight formats: " + weight_formats + "; mixes: " + known_mixes + ")");
}

/// Where a weight stands in the model, for the mixes' rules.
struct weight_role {
    std::string_view name;
    bool output;                           // output.weight, or token_embd.weight standing in for it (tied)
    std::size_t attn_v_index, attn_v_count;  // among the tensors named *attn_v.weight, in file order
    std::size_t ffn_down_index, ffn_down_count;
    std::uint64_t gqa;  // attention heads per KV head
};

/// llama.cpp's layers that get more bits in the _M mixes: the first and last eighth, and every third between.
inline bool use_more_bits(std::size_t i, std::size_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/// The format recipe r gives a weight: llama.cpp's llama_tensor_get_type for dense models (its rules for
/// mixture-of-experts models, 70B models, Falcon and large vocabularies are not applied).
inline const format_entry& mixed_type(const recipe& r, const weight_role& w) {
    if (r.kind == mix::pure) return *r.base;
    const format_entry &q4_K = find_format("q4_K"), &q5_K = find_format("q5_K"), &q6_K = find_format("q6_K");
    const bool base_q4 = r.base == &q4_K;
    if (w.output) return q6_K;
    if (has(w.name, "attn_v.weight")) {
        const std::size_t i = w.attn_v_index;
        switch (r.kind) {
            case mix::q3_K_S: return w.gqa >= 4 ? q4_K : *r.base;
            case mix::q3_K_M: return i < 2 ? q5_K : q4_K;
            case mix::q3_K_L: return q5_K;
            case mix::q4_K_S: return i < 4 || w.gqa >= 4 ? q5_K : *r.base;
            case mix::q4_K_M:
            case mix::q5_K_M:
                if (use_more_bits(i, w.attn_v_count)) return q6_K;
                return w.gqa >= 4 ? (base_q4 ? q5_K : q6_K) : *r.base;
            case mix::q5_K_S: return w.gqa >= 4 ? q6_K : *r.base;
            case mix::pure: break;
        }
    }
    if (has(w.name, "ffn_down")) {
        const std::size_t i = w.ffn_down_index, n = w.ffn_down_count;
        switch (r.kind) {
            case mix::q3_K_M: return i < n / 16 ? q5_K : q4_K;
            case mix::q3_K_L: return q5_K;
            case mix::q4_K_S: return i < n / 8 ? q5_K : *r.base;
            case mix::q4_K_M:
            case mix::q5_K_M: return use_more_bits(i, n) ? q6_K : *r.base;
            default: return *r.base;
        }
    }
    if (has(w.name, "attn_output.weight")) {
        if (r.kind == mix::q3_K_M) return q4_K;
        if (r.kind == mix::q3_K_L) return q5_K;
    }
    if (has(w.name, "attn_qkv.weight")) {
        if (r.kind == mix::q3_K_M || r.kind == mix::q3_K_L) return q4_K;
        if (r.kind == mix::q4_K_M) return q5_K;
        if (r.kind == mix::q5_K_M) return q6_K;
    }
    return *r.base;
}

/// f itself if rows of `cols` values are whole blocks of it; else llama.cpp's fallback of the same bits or more
/// in 32-value blocks; nullptr if none fits.
inline const format_entry* fitting_type(const format_entry& f, std::uint64_t cols) {
    if (cols % f.block_size == 0) return &f;
    static const struct {
        const char *from, *to;
    } fallbacks[] = {{"q2_K", "iq4_nl"}, {"q3_K", "iq4_nl"}, {"q4_K", "q5_0"}, {"q5_K", "q5_1"}, {"q6_K", "q8_0"}};
    for (const auto& fb : fallbacks) {
        const format_entry& to = find_format(fb.to);
        if (same_name(fb.from, f.name) && cols % to.block_size == 0) return &to;
    }
    return nullptr;
}

inline bool is_token_embedding(std::string_view name) { return ends_with(name, "token_embd.weight"); }

/// Whether requantize converts a tensor: a weight matrix (2-D or more, named *weight, as llama.cpp decides) whose
/// values lowbit reads, but not the tensors llama.cpp keeps (MoE routers, position embeddings, SSM
/// convolutions), nor the token embeddings unless asked.
inline bool converts(const gguf::tensor& t, bool embeddings) {
    if (t.n_dims < 2 || !ends_with(t.name, "weight") || !t.type->viewable) return false;
    for (const char* kept : {"ffn_gate_inp.weight", "pos_embd", "token_types", "ssm_conv1d"})
        if (has(t.name, kept)) return false;
    return embeddings || !is_token_embedding(t.name);
}

/// Writes tensor t's values in format `to` (whole rows: t.rows() x t.cols() / to.block_size blocks) with `method`,
/// rows shared out over the pool; seqmse and gptq take `calibration`, statistics of t.cols() columns.
inline void requantize_tensor(const gguf::tensor& t, const format_entry& to, quant_method method,
                              const calibration_stats* calibration, thread_pool& pool, unsigned char* out) {
    const std::size_t rows = t.rows(), cols = t.cols(), row_bytes = cols / to.block_size * to.block_bytes;
    const std::string name = "tensor '" + gguf::detail::printable(t.name) + "'";
    if (calibration) {  // chunks of rows, each a matrix whose 64-row panels the pool shares out
        quant_options o;
        o.method = method;
        o.calibration = calibration;
        o.pool = &pool;
        constexpr std::size_t chunk = 1024;
        std::vector<float> x(std::min(rows, chunk) * cols);
        for (std::size_t r0 = 0; r0 < rows; r0 += chunk) {
            const std::size_t n = std::min(chunk, rows - r0);
            for (std::size_t r = 0; r < n; ++r) gguf::dequantize_row(t, r0 + r, x.data() + r * cols);
            try {
                to.quantize_rows(x.data(), n, cols, out + r0 * row_bytes, o);
            } catch (const lowbit::error& e) {
                fail(bad_data, name + ", rows from " + std::to_string(r0) + ": " + e.what());
            }
        }
        return;
    }
    const std::size_t rows_per_task = std::max<std::size_t>(1, (std::size_t{1} << 18) / cols);
    pool((rows + rows_per_task - 1) / rows_per_task, [&](std::size_t task) {
        std::vector<float> x(cols);
        const std::size_t r1 = std::min(rows, (task + 1) * rows_per_task);
        for (std::size_t r = task * rows_per_task; r < r1; ++r) {
            gguf::dequantize_row(t, r, x.data());
            try {
                to.quantize(x.data(), cols, out + r * row_bytes, quant_options{method});
            } catch (const lowbit::error& e) {
                fail(bad_data, name + ", row " + std::to_string(r) + ": " + e.what());
            }
        }
    });
}

/// `requantize`: a GGUF model with its weights in other formats, everything else copied.
inline int requantize_command(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
    const command_line line =
        parse_command("requantize", args, type_options | quantizer_options | threads_option, 2, "IN.gguf and OUT.gguf");
    const recipe r = parse_recipe(line.type);
    quant_method method = quant_method::round_to_nearest;
    if (line.method == "search") method = quant_method::search;
    else if (line.method == "seqmse") method = quant_method::seqmse;
    else if (line.method == "gptq") method = quant_method::gptq;
    else if (!line.method.empty() && line.method != "rtn")
        fail(bad_usage, "--method: '" + line.method + "' is not rtn, search, seqmse or gptq");
    const bool calibrated = method == quant_method::seqmse || method == quant_method::gptq;
    if (calibrated != !line.calib.empty())
        fail(bad_usage, calibrated ? "--method " + line.method + " needs --calib DIR (activations per tensor)"
                                   : std::string("--calib is for --method seqmse or gptq"));
    if (calibrated && !std::filesystem::is_directory(line.calib))
        fail(bad_usage, "--calib: '" + line.calib + "' is not a directory");
    if (!line.importance.empty())
        fail(bad_usage, "'requantize' takes no --importance (a file's columns differ from tensor to tensor)");
    const std::string &in_path = line.paths[0], &out_path = line.paths[1];
    std::error_code ec;
    if (std::filesystem::equivalent(in_path, out_path, ec))
        fail(bad_usage, "IN.gguf and OUT.gguf are the same file ('" + out_path + "')");
    thread_pool pool(parse_threads(line));
    const auto start = std::chrono::steady_clock::now();
    const gguf::file model(in_path);

    std::size_t attn_v_count = 0, ffn_down_count = 0;
    bool has_output = false;
    for (const gguf::tensor& t : model.tensors()) {
        attn_v_count += has(t.name, "attn_v.weight");
        ffn_down_count += has(t.name, "ffn_down");
        has_output |= t.name == "output.weight";
    }
    const std::string arch = architecture(model);
    const std::uint64_t heads = model_count(model, arch + ".attention.head_count"),
                        kv_heads = model_count(model, arch + ".attention.head_count_kv");
    weight_role role{{}, false, 0, attn_v_count, 0, ffn_down_count, heads && kv_heads ? heads / kv_heads : 1};

    // The format of each tensor: nullptr where it is copied as it is.
    std::vector<const format_entry*> to(model.tensors().size(), nullptr);
    gguf::writer writer;
    writer.copy_metadata(model);
    for (std::size_t i = 0; i < to.size(); ++i) {
        const gguf::tensor& t = model.tensors()[i];
        role.name = t.name;
        role.output = t.name == "output.weight" || (!has_output && is_token_embedding(t.name));
        if (converts(t, line.embeddings)) {
            const format_entry* f = fitting_type(mixed_type(r, role), t.cols());
            if (f && f->ggml_type != t.type->id) to[i] = f;
        }
        role.attn_v_index += has(t.name, "attn_v.weight");
        role.ffn_down_index += has(t.name, "ffn_down");
        writer.add_tensor(t.name, to[i] ? to[i]->ggml_type : t.type->id, {t.ne.begin(), t.ne.begin() + t.n_dims});
    }
    if (r.file_type) writer.set("general.file_type", r.file_type);
    else writer.erase("general.file_type");
    writer.set("general.quantization_version", std::uint32_t{2});  // ggml's, of the K formats' layout

    double bytes_in = 0, bytes_out = 0, converted_weights = 0, converted_in = 0, converted_out = 0;
    std::size_t converted = 0, calibrated_count = 0;
    const int name_width = 28;
    try {
        writer.write(out_path, [&](std::size_t i, unsigned char* data) {
            const gguf::tensor& t = model.tensors()[i];
            std::fprintf(err, "[%*zu/%zu] %-*s %-5s -> %-5s %9s", static_cast<int>(std::to_string(to.size()).size()),
                         i + 1, to.size(), name_width, gguf::detail::printable(t.name).c_str(), t.type->name,
                         to[i] ? to[i]->name : "kept", mib(static_cast<double>(writer.tensor_bytes(i))).c_str());
            std::fflush(err);
            if (to[i]) {
                // seqmse and gptq where the tensor's activations are in --calib, search elsewhere.
                std::unique_ptr<calibration_stats> stats;
                const std::string acts = line.calib + "/" + std::string(t.name) + ".f32";
                if (calibrated && std::filesystem::is_regular_file(acts)) stats = read_calibration(acts, t.cols());
                const quant_method m = stats ? method : calibrated ? quant_method::search : method;
                std::fprintf(err, " %-6s", stats ? line.method.c_str() : m == quant_method::search ? "search" : "rtn");
                std::fflush(err);
                calibrated_count += stats != nullptr;
                requantize_tensor(t, *to[i], m, stats.get(), pool, data);
                ++converted;
                converted_weights += static_cast<double>(t.elements());
                converted_in += static_cast<double>(t.bytes);
                converted_out += static_cast<double>(writer.tensor_bytes(i));
            } else {
                std::memcpy(data, t.data, t.bytes);
            }
            bytes_in += static_cast<double>(t.bytes);
            bytes_out += static_cast<double>(writer.tensor_bytes(i));
            std::fputc('\n', err);
        });
    } catch (...) {
        std::fputc('\n', err);
        std::remove(out_path.c_str());
        throw;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(out, "%-24s %s -> %s\n", "requantized", in_path.c_str(), out_path.c_str());
    std::fprintf(out, "%-24s %s (general.file_type %u)\n", "type", r.name.c_str(), r.file_type);
    if (calibrated)
        std::fprintf(out, "%-24s %s (%zu tensors with activations in %s), search for the others\n", "method",
                     line.method.c_str(), calibrated_count, line.calib.c_str());
    else
        std::fprintf(out, "%-24s %s\n", "method", method == quant_method::search ? "search" : "rtn");
    std::fprintf(out, "%-24s %zu converted, %zu kept\n", "tensors", converted, to.size() - converted);
    std::fprintf(out, "%-24s %s -> %s\n", "tensor_data", mib(bytes_in).c_str(), mib(bytes_out).c_str());
    if (converted_weights > 0)
        std::fprintf(out, "%-24s %.4f -> %.4f\n", "converted_bits_per_weight", 8 * converted_in / converted_weights,
                     8 * converted_out / converted_weights);
    std::fprintf(out, "%-24s %.2f (%u threads)\n", "seconds", seconds, pool.size());
    return 0;
}

// ---- bench-model -----------------------------------------------------------------------------------------------

template <class V>
struct quantized_view_format {
    using type = void;
};
template <class Fmt, class Block>
struct quantized_view_format<qmatrix_view<Fmt, Block>> {
    using type = Fmt;
};

/// One weight matrix of the forward pass: product(x, y, batch) computes y = W x for `batch` rows of x (a GEMV
/// for one).
struct timed_weight {
    double bytes;  // read by one product: the file's, or the packed matrix's
    std::function<void(const float* x, float* y, std::size_t batch, thread_pool& pool)> product;
};

/// The product of weights W (a plain view or a packed matrix, kept alive by the function).
template <class W>
std::function<void(const float*, float*, std::size_t, thread_pool&)> product_of(std::shared_ptr<const W> w) {
    return [w](const float* x, float* y, std::size_t rows, thread_pool& pool) {
        if (rows == 1) gemv(*w, x, y, {}, pool);
        else gemm(*w, matrix_view<const float>(x, rows, w->cols(), w->cols()),
                  matrix_view<float>(y, rows, w->rows(), w->rows()), {}, pool);
    };
}

/// The median time of pass(), in seconds, over at least 3 passes and `min_seconds` (after one untimed pass).
template <class Pass>
double median_seconds(Pass pass, double min_seconds) {
    pass();
    std::vector<double> times;
    double total = 0;
    while ((times.size() < 3 || total < min_seconds) && times.size() < 1000) {
        const auto t0 = std::chrono::steady_clock::now();
        pass();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        total += times.back();
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

/// --seconds: a number > 0.
inline double parse_seconds(const std::string& text) {
    if (text.empty()) return 2.0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !(v > 0 && v <= 3600))
        fail(bad_usage, "--seconds: '" + text + "' is not a number of seconds in (0, 3600]");
    return v;
}

/// `bench-model`: every weight matrix of a model, multiplied as a forward pass would, against the machine's
/// read bandwidth measured in the same run.
inline int bench_model_command(const std::vector<std::string>& args, std::FILE* out) {
    const command_line line =
        parse_command("bench-model", args, threads_option | batch_option | seconds_option | packed_option, 1, "FILE.gguf");
    const std::size_t batch = line.batch.empty() ? 64 : parse_positive("--batch", line.batch, "rows");
    const double min_seconds = parse_seconds(line.seconds);
    thread_pool pool(parse_threads(line));
    const gguf::file model(line.paths[0]);

    bool has_output = false;
    for (const gguf::tensor& t : model.tensors()) has_output |= t.name == "output.weight";
    const auto pack_start = std::chrono::steady_clock::now();
    std::vector<timed_weight> weights;
    std::string skipped;  // the types of the matrices not timed
    std::vector<const gguf::tensor_type*> skipped_types;
    std::size_t max_rows = 0, max_cols = 0, not_timed = 0;
    double weight_count = 0, weight_bytes = 0;
    for (const gguf::tensor& t : model.tensors()) {
        // A forward pass multiplies by every weight matrix, but looks rows of the token embeddings up (unless they
        // are tied to the output).
        if (t.n_dims < 2 || !ends_with(t.name, "weight") || (has_output && is_token_embedding(t.name))) continue;
        timed_weight w{static_cast<double>(t.bytes), nullptr};
        if (t.type->viewable)
            gguf::visit(t, [&](auto view) {
                using Fmt = typename quantized_view_format<decltype(view)>::type;
                if constexpr (!std::is_void<Fmt>::value) {
                    if constexpr (has_search<Fmt>) {
                        if constexpr (packed_layout<Fmt>::supported) {
                            if (line.packed) {
                                const auto packed = std::make_shared<const packed_matrix<Fmt>>(view);
                                w.bytes = static_cast<double>(packed->size_bytes());
                                w.product = product_of(packed);
                                return;
                            }
                        }
                        w.product = product_of(std::make_shared<const decltype(view)>(view));
                    }
                }
            });
        if (!w.product) {
            ++not_timed;
            if (std::find(skipped_types.begin(), skipped_types.end(), t.type) == skipped_types.end()) {
                skipped += std::string(skipped.empty() ? "" : ", ") + t.type->name;
                skipped_types.push_back(t.type);
            }
            continue;
        }
        weights.push_back(w);
        max_rows = std::max(max_rows, t.rows());
        max_cols = std::max(max_cols, t.cols());
        weight_count += static_cast<double>(t.elements());
        weight_bytes += w.bytes;
    }
    const double pack_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - pack_start).count();
    if (weights.empty())
        fail(bad_data, "'" + line.paths[0] + "' has no weight matrix in a format lowbit multiplies" +
                           (skipped.empty() ? std::string() : " (it has " + skipped + ")"));

    // Activations: the same values for every product (they do not change the time); y is overwritten.
    std::vector<float> x(batch * max_cols), y(batch * max_rows);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 2654435761u % 2001) - 1000) / 1000.0f;
    const auto forward = [&](std::size_t rows) {
        for (const timed_weight& w : weights) w.product(x.data(), y.data(), rows, pool);
    };

    // The limit: a read-only reduction over 256 MiB (past any CPU cache), split over the same threads.
    const std::size_t bw_bytes = std::size_t{256} << 20;
    std::vector<unsigned char> buffer(bw_bytes + 64, 1);
    const unsigned char* aligned = buffer.data() + (64 - reinterpret_cast<std::uintptr_t>(buffer.data()) % 64) % 64;
    const std::pair<tools::reduce_fn, const char*> best = tools::best_reduce();
    const tools::reduce_fn reduce = best.first;  // not a structured binding: C++17 lambdas cannot capture those
    const std::size_t lines = bw_bytes / 64, threads = pool.size();
    std::vector<std::uint32_t> sink(threads);
    const double bw_seconds = median_seconds([&] {
        pool(threads, [&](std::size_t t) {
            sink[t] += reduce(aligned + lines * t / threads * 64, (lines * (t + 1) / threads - lines * t / threads) * 64);
        });
    }, min_seconds / 2);
    const double read_bw = static_cast<double>(bw_bytes) / bw_seconds;

    const double gen_seconds = median_seconds([&] { forward(1); }, min_seconds);
    const double prompt_seconds = median_seconds([&] { forward(batch); }, min_seconds);

    std::fprintf(out, "%-24s %s\n", "model", line.paths[0].c_str());
    std::fprintf(out, "%-24s %s, %u threads\n", "backend", backend_description<default_backend>(), pool.size());
    std::fprintf(out, "%-24s %zu tensors, %.0f weights, %s, %.4f bits per weight\n", "timed", weights.size(),
                 weight_count, mib(weight_bytes).c_str(), 8 * weight_bytes / weight_count);
    if (line.packed)
        std::fprintf(out, "%-24s packed (lowbit::packed_matrix, made in %.2f s on one thread)\n", "layout", pack_seconds);
    else
        std::fprintf(out, "%-24s plain (the file's blocks, memory-mapped; --packed repacks them)\n", "layout");
    if (not_timed)
        std::fprintf(out, "%-24s %zu weight tensors in %s (no lowbit product)\n", "not_timed", not_timed, skipped.c_str());
    std::fprintf(out, "%-24s %.2f GB/s (%s reduction over 256 MiB, same threads, same run)\n", "read_bandwidth",
                 read_bw / 1e9, best.second);
    std::fprintf(out, "\n# generation: one GEMV per weight matrix per token\n");
    std::fprintf(out, "%-24s %.3f\n", "ms_per_token", gen_seconds * 1e3);
    std::fprintf(out, "%-24s %.2f\n", "tokens_per_s", 1 / gen_seconds);
    std::fprintf(out, "%-24s %.2f GB/s, %.0f%% of read_bandwidth\n", "weights_read", weight_bytes / gen_seconds / 1e9,
                 100 * weight_bytes / gen_seconds / read_bw);
    std::fprintf(out, "\n# prompt processing: one GEMM of %zu rows per weight matrix\n", batch);
    std::fprintf(out, "%-24s %.3f\n", "ms_per_batch", prompt_seconds * 1e3);
    std::fprintf(out, "%-24s %.2f\n", "tokens_per_s", static_cast<double>(batch) / prompt_seconds);
    std::fprintf(out, "%-24s %.4g GOPS (2 per multiply-add)\n", "throughput",
                 2 * weight_count * static_cast<double>(batch) / prompt_seconds / 1e9);
    std::fprintf(out, "\nestimates: weight products only (no attention, norms or sampling)%s\n",
                 weight_bytes < 64.0 * (1 << 20) ? "; weights under 64 MiB may stay in the CPU's caches" : "");
    return 0;
}

}  // namespace lowbit::cli::detail
