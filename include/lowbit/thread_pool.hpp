#pragma once
/// \file thread_pool.hpp
/// Executors for gemv/gemm (matmul.hpp): callables `exec(ntasks, task)` that run task(0) ... task(ntasks - 1),
/// each exactly once, and return when all have finished. Tasks of one call must be independent.
///   serial_executor  runs them in order on the calling thread (the default: no threads are started).
///   thread_pool      runs them on persistent std::thread workers plus the calling thread.
/// Any callable with this signature works (e.g. a wrapper over OpenMP or TBB); an optional `size()` member
/// (the number of threads) lets gemv/gemm choose how many tasks to cut the work into.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

LOWBIT_NAMESPACE_BEGIN

/// Runs every task on the calling thread, in index order.
struct serial_executor {
    static constexpr unsigned size() noexcept { return 1; }
    template <class F>
    void operator()(std::size_t ntasks, F&& task) const {
        for (std::size_t i = 0; i < ntasks; ++i) task(i);
    }
};

/// A fixed set of threads that run the tasks of one call at a time; the calling thread takes part, so
/// thread_pool(n) starts n - 1 workers. Tasks are handed out one index at a time (dynamic balancing).
/// Workers (after a call) and the caller (waiting for them) spin briefly, tens of microseconds, before sleeping,
/// so that back-to-back calls (the layers of a model) do not pay a sleep and a wake-up each, which cost as much
/// as a small GEMV.
/// If tasks throw, the remaining ones are skipped and the first exception is rethrown by operator().
/// Calls from several threads are serialized; a task must not call the same pool (it would deadlock).
class thread_pool {
public:
    /// `threads` threads in all, counting the caller; 0 (hardware_concurrency() unknown) means 1.
    explicit thread_pool(unsigned threads = std::thread::hardware_concurrency()) {
        const unsigned workers = std::max(threads, 1u) - 1;
        m_workers.reserve(workers);
        for (unsigned i = 0; i < workers; ++i) m_workers.emplace_back([this] { worker_loop(); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        for (std::thread& t : m_workers) t.join();
    }

    /// Threads that run tasks, the caller included.
    unsigned size() const noexcept { return static_cast<unsigned>(m_workers.size()) + 1; }

    template <class F>
    void operator()(std::size_t ntasks, F&& task) {
        using callable = std::remove_reference_t<F>;
        run(ntasks, [](void* f, std::size_t i) { (*static_cast<callable*>(f))(i); },
            const_cast<void*>(static_cast<const void*>(&task)));
    }

private:
    using task_fn = void (*)(void*, std::size_t);

    /// About 50-100 microseconds of pause instructions.
    static constexpr int spin_iterations = 2048;
    static void pause() noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    }

    void run(std::size_t ntasks, task_fn fn, void* ctx) {
        if (ntasks == 0) return;
        if (m_workers.empty() || ntasks == 1) {  // nothing to share: skip the synchronization
            for (std::size_t i = 0; i < ntasks; ++i) fn(ctx, i);
            return;
        }
        std::lock_guard<std::mutex> one_call(m_call_mutex);
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_fn = fn;
            m_ctx = ctx;
            m_ntasks = ntasks;
            m_next.store(0, std::memory_order_relaxed);
            m_error = nullptr;
            m_busy.store(m_workers.size(), std::memory_order_relaxed);
            m_generation.fetch_add(1, std::memory_order_release);  // after the fields above: spinning workers
        }
        m_wake.notify_all();
        work();
        for (int i = 0; i < spin_iterations && m_busy.load(std::memory_order_acquire) != 0; ++i) pause();
        std::unique_lock<std::mutex> lock(m_mutex);
        m_done.wait(lock, [this] { return m_busy.load(std::memory_order_acquire) == 0; });
        m_fn = nullptr;
        if (m_error) std::rethrow_exception(m_error);
    }

    // Takes task indices until none is left (shared by the caller and the workers).
    void work() {
        for (std::size_t i; (i = m_next.fetch_add(1, std::memory_order_relaxed)) < m_ntasks;) {
            try {
                m_fn(m_ctx, i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(m_mutex);
                if (!m_error) m_error = std::current_exception();
                m_next.store(m_ntasks, std::memory_order_relaxed);  // skip the rest
            }
        }
    }

    void worker_loop() {
        std::size_t seen = 0;
        for (;;) {
            for (int i = 0; i < spin_iterations && m_generation.load(std::memory_order_acquire) == seen; ++i) pause();
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_wake.wait(lock, [&] { return m_stop || m_generation.load(std::memory_order_relaxed) != seen; });
                if (m_stop) return;
                seen = m_generation.load(std::memory_order_relaxed);
            }
            work();
            if (m_busy.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(m_mutex);  // the caller is spinning, or waiting on m_done
                m_done.notify_one();
            }
        }
    }

    std::vector<std::thread> m_workers;
    std::mutex m_call_mutex;  // one call at a time
    std::mutex m_mutex;       // guards everything below except the atomics
    std::condition_variable m_wake, m_done;
    task_fn m_fn = nullptr;
    void* m_ctx = nullptr;
    std::size_t m_ntasks = 0;
    std::atomic<std::size_t> m_next{0};
    std::atomic<std::size_t> m_busy{0};        // workers still in the current call
    std::atomic<std::size_t> m_generation{0};  // written under m_mutex, read by spinning workers without it
    std::exception_ptr m_error;
    bool m_stop = false;
};

LOWBIT_NAMESPACE_END
