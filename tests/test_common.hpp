#pragma once
// Shared by the test sources: the backend under test, seeded data and buffers at chosen byte offsets.
#include <catch2/catch.hpp>
#include <lowbit/lowbit.hpp>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <random>
#include <tuple>
#include <vector>

namespace lowbit_test {

/// Formats with an fp16 scale, whose scale can overflow (q8_K's float32 scale and mxfp4's power of two up to
/// 2^127 cannot).
template <class Fmt, class = void>
constexpr bool has_fp16_scale = false;
template <class Fmt>
constexpr bool has_fp16_scale<Fmt, std::void_t<decltype(typename Fmt::block{}.d)>> =
    std::is_same<decltype(typename Fmt::block{}.d), lowbit::half_bytes>::value;
template <>
constexpr bool has_fp16_scale<lowbit::iq1_m> = true;  // its fp16 d is split over the scale bytes

/// The backend this executable tests (tests/CMakeLists.txt builds one executable per backend).
using backend = LOWBIT_TEST_BACKEND;

template <class List>
struct as_tuple;
template <class... T>
struct as_tuple<lowbit::type_list<T...>> {
    using type = std::tuple<T...>;
};
using all_formats = as_tuple<lowbit::all_formats>::type;
using weight_formats = as_tuple<lowbit::weight_formats>::type;

/// A buffer whose data() is `offset` bytes past a 64-byte boundary, for misalignment tests.
template <class T>
class offset_buffer {
public:
    offset_buffer(std::size_t count, std::size_t offset) : m_storage(count * sizeof(T) + 128), m_count(count) {
        const auto base = reinterpret_cast<std::uintptr_t>(m_storage.data());
        m_data = reinterpret_cast<T*>(m_storage.data() + ((64 - base % 64) % 64) + offset);
    }
    T* data() noexcept { return m_data; }
    T& operator[](std::size_t i) noexcept { return m_data[i]; }
    std::size_t size() const noexcept { return m_count; }
    std::size_t bytes() const noexcept { return m_count * sizeof(T); }

private:
    std::vector<unsigned char> m_storage;
    std::size_t m_count;
    T* m_data;
};

/// values[i % size]: pairs each value of one test parameter with several of another (pairwise coverage) where
/// the full product of the parameters costs minutes under emulation.
inline std::size_t pick(std::initializer_list<std::size_t> values, std::size_t i) {
    return values.begin()[i % values.size()];
}

/// Kinds of input that stress the quantizers' rounding and clamping.
enum class data_kind { normal, uniform, heavy_tail, with_zeros, ties, integers, huge, tiny, subnormal };
constexpr data_kind all_data_kinds[] = {data_kind::normal,  data_kind::uniform,  data_kind::heavy_tail,
                                        data_kind::with_zeros, data_kind::ties, data_kind::integers,
                                        data_kind::huge,    data_kind::tiny,     data_kind::subnormal};

inline void fill(float* x, std::size_t n, data_kind kind, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::student_t_distribution<float> student(3.0f);
    std::uniform_int_distribution<int> small_int(-16, 16);
    for (std::size_t i = 0; i < n; ++i) {
        switch (kind) {
            case data_kind::normal: x[i] = normal(rng); break;
            case data_kind::uniform: x[i] = uniform(rng); break;
            case data_kind::heavy_tail: x[i] = student(rng); break;
            // Signed zeros too: a block's max, min or scale must not come out as -0 where the reference has +0.
            case data_kind::with_zeros: {
                const float zero = (rng() & 1) ? 0.0f : -0.0f;
                x[i] = (i / 32) % 3 == 0 ? zero : (rng() % 4 == 0 ? zero : normal(rng));
                break;
            }
            // Multiples of 1/4 and small integers: x * id lands on .5 after scaling in many blocks.
            case data_kind::ties: x[i] = static_cast<float>(small_int(rng)) * 0.25f; break;
            case data_kind::integers: x[i] = static_cast<float>(small_int(rng)); break;
            case data_kind::huge: x[i] = normal(rng) * 3.0e4f; break;   // scales stay inside fp16
            case data_kind::tiny: x[i] = normal(rng) * 1.0e-6f; break;  // scales become fp16 subnormals
            case data_kind::subnormal: x[i] = normal(rng) * 1.0e-39f; break;  // 1/scale overflows float
        }
    }
}

inline void fill_bytes(void* p, std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(rng());
}

/// Formats with their own test hooks (the K formats, q8_K, iq4_xs and the codebook formats: format/kquant_common.hpp)
/// set their scales; the others have an fp16 d (and q4_1 / q5_1 / q8_1 a second fp16 field), or mxfp4's exponent.
template <class Fmt, class = void>
struct has_scale_hooks : std::false_type {};
template <class Fmt>
struct has_scale_hooks<Fmt, std::void_t<decltype(Fmt::set_unit_scales(std::declval<typename Fmt::block&>(),
                                                                       std::declval<std::mt19937&>()))>>
    : std::true_type {};

template <class Block>
void set_unit_scales(Block& b, std::mt19937& rng) {
    if constexpr (has_scale_hooks<typename Block::format>::value) {
        Block::format::set_unit_scales(b, rng);
    } else if constexpr (std::is_same<Block, lowbit::mxfp4::block>::value) {
        b.e = 128;  // 2^0
    } else {
        b.d.set_bits(0x3C00);  // 1.0
        if constexpr (std::is_same<Block, lowbit::q4_1::block>::value || std::is_same<Block, lowbit::q5_1::block>::value)
            lowbit::store_half(b.m, static_cast<float>(static_cast<int>(rng() % 33) - 16));
        if constexpr (std::is_same<Block, lowbit::q8_1::block>::value)
            lowbit::store_half(b.s, static_cast<float>(static_cast<int>(rng() % 129) - 64));
    }
}

template <class Block>
void set_random_scales(Block& b, std::mt19937& rng) {
    if constexpr (has_scale_hooks<typename Block::format>::value) {
        Block::format::set_random_scales(b, rng);
    } else if constexpr (std::is_same<Block, lowbit::mxfp4::block>::value) {
        b.e = static_cast<std::uint8_t>(120 + rng() % 10);  // 2^-8 .. 2^1
    } else {
        b.d.set_bits(lowbit::detail::random_test_scale(rng));
        if constexpr (std::is_same<Block, lowbit::q4_1::block>::value || std::is_same<Block, lowbit::q5_1::block>::value)
            b.m.set_bits(lowbit::detail::random_test_scale(rng));
        if constexpr (std::is_same<Block, lowbit::q8_1::block>::value)
            b.s.set_bits(lowbit::detail::random_test_scale(rng));
    }
}

/// Formats whose reference quantizer is slow (the codebook formats' grid search, about 0.3 us per weight; the trellis
/// formats' Viterbi search, about 2.5 us): tests that only need valid blocks fill them with random bytes instead.
template <class Block>
constexpr bool slow_quantizer =
    lowbit::arch::ref::lattice_format<Block>::value || lowbit::arch::ref::trellis_format<Block>::value;

/// REQUIRE(condition), with the CAPTURE list's values reported when it fails, and formatted only then: Catch2 formats
/// a CAPTURE's values eagerly, which in the suites' per-value loops took most of their run time under qemu.
#define LOWBIT_REQUIRE_CAPTURE(condition, ...) \
    do {                                       \
        if (!(condition)) {                    \
            CAPTURE(__VA_ARGS__);              \
            REQUIRE(condition);                \
        }                                      \
    } while (false)

/// Equal bit patterns, or both NaN.
inline bool same_float(float a, float b) {
    return std::memcmp(&a, &b, 4) == 0 || (a != a && b != b);
}

}  // namespace lowbit_test
