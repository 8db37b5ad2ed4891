#pragma once
// Shared by the libFuzzer targets: iteration over a lowbit::type_list, exact-size heap buffers (ASan reports any
// access past their end) and failure reporting that libFuzzer records as a crash with its input.
#include <lowbit/lowbit.hpp>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace lowbit_fuzz {

template <class T>
struct type_tag {
    using type = T;
};

/// Calls f(type_tag<T>{}) for every T of the list, in order.
template <class F, class... T>
void for_each_type(lowbit::type_list<T...>, F&& f) {
    (f(type_tag<T>{}), ...);
}

/// Prints where and why, then aborts: libFuzzer saves the input as a crash artifact.
[[noreturn]] __attribute__((format(printf, 4, 5))) inline void fail(const char* file, int line, const char* condition,
                                                                    const char* format, ...) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n  ", file, line, condition);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    std::abort();
}

#define LOWBIT_FUZZ_REQUIRE(condition, ...) \
    ((condition) ? (void)0 : ::lowbit_fuzz::fail(__FILE__, __LINE__, #condition, __VA_ARGS__))

/// Reads the fuzzer's bytes front to back; past the end it yields zeros.
class input {
public:
    input(const std::uint8_t* data, std::size_t size) noexcept : m_data(data), m_size(size) {}
    std::uint8_t byte() noexcept { return m_size ? (--m_size, *m_data++) : 0; }
    const std::uint8_t* rest() const noexcept { return m_data; }
    std::size_t remaining() const noexcept { return m_size; }

private:
    const std::uint8_t* m_data;
    std::size_t m_size;
};

/// `bytes` bytes starting `offset` bytes into a heap allocation that ends exactly where they end, so that
/// reading or writing one byte too far is a heap-buffer-overflow for ASan. Blocks have alignment 1, so any
/// offset is a valid place for them.
class exact_bytes {
public:
    exact_bytes(std::size_t bytes, std::size_t offset)
        : m_storage(new unsigned char[offset + bytes]), m_offset(offset), m_bytes(bytes) {}
    unsigned char* data() noexcept { return m_storage.get() + m_offset; }
    std::size_t size() const noexcept { return m_bytes; }
    template <class T>
    T* as() noexcept {
        return reinterpret_cast<T*>(data());
    }

private:
    std::unique_ptr<unsigned char[]> m_storage;
    std::size_t m_offset, m_bytes;
};

/// Makes an activation block meet dot's documented preconditions: q8_K's bsums must be the 16-value sums of
/// its codes (format/q8_K.hpp). Other blocks have none.
template <class Block>
void satisfy_preconditions(Block&) noexcept {}
inline void satisfy_preconditions(lowbit::q8_K::block& b) noexcept {
    for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int j = 0; j < 16; ++j) sum += b.qs[16 * g + j];
        b.bsums[g].set(static_cast<std::int16_t>(sum));
    }
}

/// Equal bit patterns, or both NaN (NaN payloads may differ between backends).
inline bool same_float(float a, float b) noexcept { return std::memcmp(&a, &b, 4) == 0 || (a != a && b != b); }

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace lowbit_fuzz
