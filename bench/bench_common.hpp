#pragma once
// Shared by the benchmark sources: the size sets, benchmark names and counters, and the data (tiled from small
// seeded pools so that 256 MiB buffers are cheap to build).
//
// bench/CMakeLists.txt builds lowbit_bench without any -m flags: its lowbit calls name the backend `dispatched`,
// so they run on the backend lowbit::dispatch chose (lowbit::runtime_backend()). The Eigen baselines compile
// these helpers again with their level's flags.
#include <benchmark/benchmark.h>
#include <lowbit/lowbit.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

namespace lowbit_bench {

/// The backend of lowbit_bench's lowbit calls: the one lowbit::dispatch chose when the program started.
using backend = lowbit::arch::dispatched;

// ---------------------------------------------------------------------------------------------------------------
// Sizes

struct shape {
    std::size_t rows, cols;
};

/// What one run measures. --lowbit_sizes=tiny|quick|full picks one of the sets made by make_sizes().
struct suite_sizes {
    std::vector<std::size_t> convert_n;   ///< values per quantize / dequantize call
    std::vector<std::size_t> act_n;       ///< values per quantize_act call (one activation row)
    std::vector<std::size_t> levels;      ///< working sets in bytes for dot / gemv / read_bw: L1, L2, L3, DRAM
    std::size_t sweep_cols = 0;           ///< columns of the gemv matrices of the working-set sweep
    std::vector<std::size_t> sweep_threads;       ///< thread counts of the sweep
    std::vector<shape> layers;            ///< gemv shapes (rows x cols): the 7-8B model layers
    std::vector<shape> gemm_layers;       ///< gemm weight shapes
    std::vector<std::size_t> batches;     ///< gemm batch sizes (activation rows)
    std::vector<std::size_t> scalar_batches;     ///< those of the scalar reference, whose gemm is much slower
    std::vector<std::size_t> threads;            ///< thread counts for layer gemv / gemm and the limits
    /// calibration.hpp's methods: output SNR of every weight format and method on these (rows x cols weights, tokens
    /// activation rows), and the time of seqmse and gptq on q4_K at calibration_timed.
    std::vector<std::array<std::size_t, 3>> calibration_quality;
    std::vector<std::array<std::size_t, 3>> calibration_timed;
    /// Rows of 4096 values whose round trip measures each format's quality (bench_quality.cpp).
    std::size_t quality_rows = 0;
    /// attention.hpp: decode at these context lengths; prefill of (context, query tokens); every KV format pair
    /// or only f16, q8_0 and q4_0.
    std::vector<std::size_t> attention_contexts;
    std::vector<std::array<std::size_t, 2>> attention_prefill;
    bool attention_all_formats = false;
};

/// `name` is tiny (a smoke test: every benchmark at a trivial size), quick (a subset, a few minutes) or full.
/// The cache levels come from Google Benchmark's CPU info; each level's working set is half the cache, so it stays
/// resident; the DRAM set is max(256 MiB, 4 x the last-level cache).
suite_sizes make_sizes(const std::string& name);

/// Rows of a sweep matrix with `cols` columns whose Fmt weights take about `bytes` bytes (at least one row).
template <class Fmt>
std::size_t rows_for_bytes(std::size_t bytes, std::size_t cols) {
    const std::size_t row = lowbit::qmatrix_view<Fmt>::row_bytes(cols);
    return bytes / row > 0 ? bytes / row : 1;
}

/// The gemv shapes of the working-set sweep for Fmt: sweep_cols columns, one matrix per level.
template <class Fmt>
std::vector<shape> sweep_shapes(const suite_sizes& s) {
    std::vector<shape> shapes;
    for (const std::size_t bytes : s.levels) shapes.push_back({rows_for_bytes<Fmt>(bytes, s.sweep_cols), s.sweep_cols});
    return shapes;
}

/// Rounds n down to a whole number of blocks of Fmt and of its activation format (at least one block).
template <class Fmt>
constexpr std::size_t whole_blocks(std::size_t n) {
    constexpr std::size_t unit = std::lcm(Fmt::block_size, Fmt::activation::block_size);
    return n / unit > 0 ? n / unit * unit : unit;
}

/// Values of a dot benchmark whose weights and activations together take about `bytes`.
template <class Fmt>
std::size_t dot_values_for_bytes(std::size_t bytes) {
    const double per_value = Fmt::bits_per_weight / 8.0 + Fmt::activation::bits_per_weight / 8.0;
    return whole_blocks<Fmt>(static_cast<std::size_t>(static_cast<double>(bytes) / per_value));
}

// ---------------------------------------------------------------------------------------------------------------
// Names, registration and counters

/// "op/part/part/key:value/...": the naming scheme bench/report.py parses.
std::string bench_name(const std::string& head, const std::vector<std::pair<const char*, std::size_t>>& args);

/// Registers fn under `name`. A benchmark on one thread is timed in CPU time, which a busy machine disturbs less;
/// one on several threads (a thread pool's workers, or Benchmark threads) in wall-clock time ("/real_time").
benchmark::internal::Benchmark* add(const std::string& name, std::function<void(benchmark::State&)> fn,
                                    std::size_t threads = 1);

/// Per-call amounts turned into rates: bytes/s (state.SetBytesProcessed), and the "weights" and "FLOP"
/// counters (per second); zero amounts are left out. `label` says what ran (the backend, an instruction set).
void set_rates(benchmark::State& state, double bytes, double weights, double flop, const std::string& label);

// ---------------------------------------------------------------------------------------------------------------
// Data

/// A 64-byte aligned, uninitialized byte buffer.
class aligned_bytes {
public:
    explicit aligned_bytes(std::size_t bytes)
        : m_size(bytes), m_data(static_cast<unsigned char*>(std::aligned_alloc(64, (bytes + 64) / 64 * 64))) {
        if (!m_data) throw std::bad_alloc();
    }
    unsigned char* data() const noexcept { return m_data.get(); }
    std::size_t size() const noexcept { return m_size; }

private:
    struct free_deleter {
        void operator()(void* p) const noexcept { std::free(p); }
    };
    std::size_t m_size;
    std::unique_ptr<unsigned char[], free_deleter> m_data;
};

/// The buffer's bytes as T (blocks have alignment 1; float buffers are 64-byte aligned).
template <class T>
T* as(const aligned_bytes& b) noexcept {
    return reinterpret_cast<T*>(b.data());
}

/// Values in the pools: 2^16 seeded normal floats (a multiple of every block size).
constexpr std::size_t pool_values = std::size_t{1} << 16;
const std::vector<float>& float_pool();

/// Fills dst with copies of src (dst.size() need not be a multiple of src_bytes).
void fill_tiled(const aligned_bytes& dst, const void* src, std::size_t src_bytes);

/// n floats (normal, mean 0, variance 1).
aligned_bytes floats(std::size_t n);

/// The float pool quantized to Block's format by the reference.
template <class Block>
const std::vector<unsigned char>& block_pool() {
    static const std::vector<unsigned char> pool = [] {
        constexpr std::size_t nblocks = pool_values / Block::format::block_size;
        std::vector<unsigned char> bytes(nblocks * sizeof(Block));
        quantize_blocks(float_pool().data(), reinterpret_cast<Block*>(bytes.data()), nblocks, lowbit::arch::scalar{});
        return bytes;
    }();
    return pool;
}

/// n values (a multiple of the block size) in Block's format.
template <class Block>
aligned_bytes blocks(std::size_t n) {
    aligned_bytes out(n / Block::format::block_size * sizeof(Block));
    const auto& pool = block_pool<Block>();
    fill_tiled(out, pool.data(), pool.size());
    return out;
}

/// The value made by make() for `key`, kept until a call with another key: Google Benchmark calls each benchmark
/// function several times (iteration estimate, repetitions), and rebuilding 256 MiB each time would dominate the
/// run. One value (of any type) is kept at a time, so memory stays bounded: the old one is freed before the new
/// one is made. Thread-safe, for benchmarks that run on several Benchmark threads.
struct cache_slot {
    std::mutex mutex;
    std::string key;
    std::shared_ptr<const void> value;
};
inline cache_slot& the_cache() {
    static cache_slot slot;
    return slot;
}
template <class T, class Make>
std::shared_ptr<const T> cached(const std::string& key, Make&& make) {
    cache_slot& slot = the_cache();
    const std::lock_guard<std::mutex> lock(slot.mutex);
    const std::string full_key = key + "@" + typeid(T).name();
    if (slot.key != full_key || !slot.value) {
        slot.value.reset();
        slot.value = std::make_shared<const T>(make());
        slot.key = full_key;
    }
    return std::static_pointer_cast<const T>(slot.value);
}

/// Calls f(executor): the serial executor for one thread, otherwise a pool of `threads` workers.
template <class F>
void with_executor(std::size_t threads, F&& f) {
    if (threads == 1) {
        lowbit::serial_executor serial;
        f(serial);
    } else {
        lowbit::thread_pool pool(threads);
        f(pool);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Iterating over formats

template <class List>
struct for_each_format;
template <class... Fmt>
struct for_each_format<lowbit::type_list<Fmt...>> {
    /// Calls f(Fmt{}) for every format of the list, in order.
    template <class F>
    static void apply(F&& f) {
        (f(Fmt{}), ...);
    }
};

/// Calls f(Fmt{}) for every format of lowbit::weight_formats (formats.hpp), so new formats appear automatically.
template <class F>
void for_weight_formats(F&& f) {
    for_each_format<lowbit::weight_formats>::apply(f);
}

// Registration, one function per source file: lowbit_bench's (called in this order by lowbit_driver.cpp),
// and the Eigen baselines' (eigen_driver.cpp).
void register_kernel_benchmarks(const suite_sizes& sizes);
void register_matmul_benchmarks(const suite_sizes& sizes);
void register_limit_benchmarks(const suite_sizes& sizes);
void register_attention_benchmarks(const suite_sizes& sizes);
void register_eigen_benchmarks(const suite_sizes& sizes);
void register_calibration_benchmarks(const suite_sizes& sizes);
void register_quality_benchmarks(const suite_sizes& sizes);

}  // namespace lowbit_bench
