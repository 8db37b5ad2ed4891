#pragma once
/// \file gguf.hpp
/// Reading GGUF files (llama.cpp's model format, versions 2 and 3): the metadata, the tensor table, and every
/// tensor as a zero-copy lowbit view into the file; and writing them (gguf::writer, version 3).
///
///   lowbit::gguf::file model("model.gguf");               // memory-mapped; file(data, size) reads a caller's buffer
///   auto n_ctx = model.get<std::uint32_t>("llama.context_length");   // typed metadata (model.metadata(): all)
///   for (const lowbit::gguf::tensor& t : model.tensors())  // name, type, ne[], offset, bytes
///       lowbit::gguf::visit(t, [&](auto view) { ... });    // const_qmatrix_view<q4_K>, matrix_view<const float>, ...
///
/// The layout (little-endian; lowbit, like GGUF's own readers, runs on little-endian hosts):
///   u32 magic "GGUF" | u32 version | u64 tensor count | u64 metadata count | metadata | tensor infos |
///   padding to general.alignment (default 32) | tensor data
///   metadata:    string key | u32 value type | value          string: u64 length | bytes (no terminator)
///   array value: u32 element type | u64 count | count values without their type (arrays may nest)
///   tensor info: string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset from the data start
///
/// Shapes: ne[0] is the contiguous dimension. A tensor is viewed as a row-major matrix of cols = ne[0] and
/// rows = ne[1] * ne[2] * ne[3]: ggml's layout with the outer dimensions flattened into rows (a 3-D expert weight
/// [cols, rows, experts] is experts blocks of rows, one after another).
///
/// Every byte is untrusted. A malformed file raises lowbit::error (error.hpp) naming what and where:
/// "gguf: tensor 'blk.0.attn_q.weight' at offset 1234: ...". No count or length is used before it is checked against
/// the bytes that remain, so a file cannot make the reader read outside it or allocate more than a small multiple of
/// its size; nothing is reserved ahead.
#include "api.hpp"
#include "formats.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define LOWBIT_GGUF_MMAP 1
#else
#include <fstream>
#include <iterator>
#endif

LOWBIT_NAMESPACE_BEGIN

namespace gguf {

/// The type of a metadata value, as stored (GGUFValueType): 0 (uint8) to 12 (float64), in this order.
enum class value_type : std::uint32_t {
    uint8,
    int8,
    uint16,
    int16,
    uint32,
    int32,
    float32,
    boolean,
    string,
    array,
    uint64,
    int64,
    float64
};

inline const char* type_name(value_type t) noexcept {
    static constexpr const char* names[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
                                            "bool",  "string", "array",  "uint64", "int64",  "float64"};
    const auto i = static_cast<std::size_t>(t);
    return i < sizeof(names) / sizeof(names[0]) ? names[i] : "unknown";
}

constexpr bool is_integer(value_type t) noexcept {
    return t != value_type::float32 && t != value_type::float64 && t != value_type::boolean &&
           t != value_type::string && t != value_type::array;
}

/// A GGML tensor type: ggml's id and name, values and bytes per block, and whether lowbit views it (visit, view<Fmt>,
/// f32_view, f16_view, bf16_view); the others (IQ*, TQ*, integers, ...) are listed but not viewed.
struct tensor_type {
    std::uint32_t id;
    const char* name;
    std::size_t block_size;
    std::size_t block_bytes;
    bool viewable;
};

/// ggml's ids of the float types lowbit views without a format of its own.
namespace ggml_id {
constexpr std::uint32_t f32 = 0, f16 = 1, bf16 = 30;
}

/// A bfloat16 value as two little-endian bytes (alignment 1): the top half of a float32.
struct bf16_bytes {
    std::uint8_t b[2];
    float value() const noexcept { return bits_to_float(static_cast<std::uint32_t>(b[0] | (b[1] << 8)) << 16); }
};
static_assert(sizeof(bf16_bytes) == 2 && alignof(bf16_bytes) == 1, "bf16_bytes must be two packed bytes");

namespace detail {
/// The GGML types without a lowbit format (ggml's type_traits); lowbit's formats bring their own (Fmt::ggml_type).
inline constexpr tensor_type other_tensor_types[] = {
    {ggml_id::f32, "f32", 1, 4, true}, {ggml_id::f16, "f16", 1, 2, true}, {ggml_id::bf16, "bf16", 1, 2, true},
    {24, "i8", 1, 1, false},           {25, "i16", 1, 2, false},          {26, "i32", 1, 4, false},
    {27, "i64", 1, 8, false},          {28, "f64", 1, 8, false},          {40, "nvfp4", 64, 36, false},
    {41, "q1_0", 128, 18, false},
};

template <class... Fmts>
const tensor_type* find_format_type(std::uint32_t id, type_list<Fmts...>) noexcept {
    static const tensor_type types[] = {{Fmts::ggml_type, Fmts::name(), Fmts::block_size, Fmts::block_bytes, true}...};
    for (const tensor_type& t : types)
        if (t.id == id) return &t;
    return nullptr;
}
}  // namespace detail

/// The type of ggml id `id`, or nullptr if there is none. ggml's names are lowbit's ("q4_K", "q8_0").
inline const tensor_type* find_tensor_type(std::uint32_t id) noexcept {
    if (const tensor_type* t = detail::find_format_type(id, all_formats{})) return t;
    for (const tensor_type& t : detail::other_tensor_types)
        if (t.id == id) return &t;
    return nullptr;
}

namespace detail {

constexpr std::uint32_t value_type_count = 13;
/// Arrays may hold arrays; deeper nesting than this is refused (the parser recurses once per level).
constexpr int max_array_depth = 8;
/// The fewest bytes a metadata entry (key length, value type, one byte) and a tensor info (name length, n_dims,
/// one dimension, type, offset) take: a count that cannot fit in the rest of the file is refused before any loop.
constexpr std::uint64_t min_metadata_bytes = 8 + 4 + 1, min_tensor_info_bytes = 8 + 4 + 8 + 4 + 8;

/// Bytes of a value of type t; 0 for strings and arrays, whose size is stored.
constexpr std::size_t fixed_size(value_type t) noexcept {
    switch (t) {
        case value_type::uint8:
        case value_type::int8:
        case value_type::boolean: return 1;
        case value_type::uint16:
        case value_type::int16: return 2;
        case value_type::uint32:
        case value_type::int32:
        case value_type::float32: return 4;
        case value_type::uint64:
        case value_type::int64:
        case value_type::float64: return 8;
        default: return 0;
    }
}

template <class T>
T load(const unsigned char* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

using lowbit::detail::to_string;

/// `text` for a message: control bytes escaped, at most 80 bytes.
inline std::string printable(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const char c : text.substr(0, 80)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F)
            out += std::string("\\x") + hex[u >> 4] + hex[u & 15];
        else
            out += c;
    }
    return text.size() > 80 ? out + "..." : out;
}

/// Reads a GGUF byte range with every read checked; failures name `item` (what is being read) and an offset.
class parser {
public:
    /// What is being read, for messages: "header", "metadata 'general.name'", "tensor 'output.weight'".
    std::string item;

    parser(const unsigned char* data, std::size_t size, std::uint64_t pos, std::string what)
        : item(std::move(what)), m_data(data), m_size(size), m_pos(pos) {}

    std::uint64_t pos() const noexcept { return m_pos; }

    [[noreturn]] void fail(std::uint64_t at, const std::string& problem) const {
        raise("gguf: " + item + " at offset " + to_string(at) + ": " + problem);
    }
    /// Checks that `bytes` more bytes follow, for `what`.
    void need(std::uint64_t bytes, const std::string& what) const {
        if (bytes > m_size - m_pos)
            fail(m_pos, what + " (" + to_string(bytes) + " bytes) runs past the end of the file (size " +
                            to_string(m_size) + ")");
    }
    template <class T>
    T read(const char* what) {
        need(sizeof(T), what);
        const T v = load<T>(m_data + m_pos);
        m_pos += sizeof(T);
        return v;
    }
    std::string_view read_string(const std::string& what) {
        const std::uint64_t length = read<std::uint64_t>((what + " length").c_str());
        need(length, what);
        const std::string_view s(reinterpret_cast<const char*>(m_data + m_pos), static_cast<std::size_t>(length));
        m_pos += length;
        return s;
    }
    value_type read_type(const char* what) {
        const std::uint64_t at = m_pos;
        const auto t = read<std::uint32_t>(what);
        if (t >= value_type_count)
            fail(at, std::string(what) + " " + to_string(t) + " is not a GGUF value type (0..12)");
        return static_cast<value_type>(t);
    }
    /// Checks and passes over one value of type t, `depth` arrays deep.
    void skip_value(value_type t, int depth) {
        if (t == value_type::string) {
            read_string("string");
        } else if (t == value_type::array) {
            if (depth == max_array_depth)
                fail(m_pos, "arrays nested more than " + to_string(max_array_depth) + " deep");
            const value_type element = read_type("array element type");
            const std::uint64_t at = m_pos;
            const auto count = read<std::uint64_t>("array length");
            if (const std::size_t size = fixed_size(element)) {
                if (count > (m_size - m_pos) / size)
                    fail(at, "array of " + to_string(count) + " " + type_name(element) +
                                 " runs past the end of the file (size " + to_string(m_size) + ")");
                skip_fixed(element, count);
            } else {
                // Each string or array takes 8 bytes or more: a false count ends at the end of the file.
                for (std::uint64_t i = 0; i < count; ++i) skip_value(element, depth + 1);
            }
        } else {
            need(fixed_size(t), type_name(t));
            skip_fixed(t, 1);
        }
    }

private:
    /// Passes over `count` values of fixed size (checked to be there), refusing bools other than 0 and 1.
    void skip_fixed(value_type t, std::uint64_t count) {
        if (t == value_type::boolean)
            for (std::uint64_t i = 0; i < count; ++i)
                if (m_data[m_pos + i] > 1) fail(m_pos + i, "bool " + to_string(m_data[m_pos + i]) + " is not 0 or 1");
        m_pos += count * fixed_size(t);
    }

    const unsigned char* m_data;
    std::size_t m_size;
    std::uint64_t m_pos;
};

template <class T>
constexpr value_type value_type_of() noexcept {
    if constexpr (std::is_same<T, std::uint8_t>::value)
        return value_type::uint8;
    else if constexpr (std::is_same<T, std::int8_t>::value)
        return value_type::int8;
    else if constexpr (std::is_same<T, std::uint16_t>::value)
        return value_type::uint16;
    else if constexpr (std::is_same<T, std::int16_t>::value)
        return value_type::int16;
    else if constexpr (std::is_same<T, std::uint32_t>::value)
        return value_type::uint32;
    else if constexpr (std::is_same<T, std::int32_t>::value)
        return value_type::int32;
    else if constexpr (std::is_same<T, std::uint64_t>::value)
        return value_type::uint64;
    else if constexpr (std::is_same<T, std::int64_t>::value)
        return value_type::int64;
    else if constexpr (std::is_same<T, float>::value)
        return value_type::float32;
    else if constexpr (std::is_same<T, double>::value)
        return value_type::float64;
    else if constexpr (std::is_same<T, bool>::value)
        return value_type::boolean;
    else {
        static_assert(std::is_same<T, std::string_view>::value,
                      "gguf values are read as std::(u)int8..64_t, float, double, bool or std::string_view");
        return value_type::string;
    }
}

}  // namespace detail

class array_range;

/// One metadata value, pointing into the file: a top-level value or an element of an array.
class value {
public:
    value_type type() const noexcept { return m_type; }
    /// The metadata key it belongs to (an array element's is its array's).
    std::string_view key() const noexcept { return m_key; }
    /// Where its bytes start in the file (after the type).
    std::uint64_t offset() const noexcept { return m_pos; }

    /// The value as T, its exact type: std::uint8_t, std::int8_t, ..., std::int64_t, float (float32), double
    /// (float64), bool, or std::string_view (pointing into the file). Raises lowbit::error on any other type.
    template <class T>
    T get() const {
        constexpr value_type wanted = detail::value_type_of<T>();
        if (m_type != wanted) mismatch(type_name(wanted));
        const unsigned char* p = m_file + m_pos;
        if constexpr (wanted == value_type::string)
            return std::string_view(reinterpret_cast<const char*>(p + 8), detail::load<std::uint64_t>(p));
        else if constexpr (wanted == value_type::boolean)
            return *p != 0;
        else
            return detail::load<T>(p);
    }

    /// An integer of any type that is >= 0, as uint64: for counts that writers store as uint32 or uint64 (or int32).
    std::uint64_t get_unsigned() const {
        switch (m_type) {
            case value_type::uint8: return get<std::uint8_t>();
            case value_type::uint16: return get<std::uint16_t>();
            case value_type::uint32: return get<std::uint32_t>();
            case value_type::uint64: return get<std::uint64_t>();
            case value_type::int8: return non_negative(get<std::int8_t>());
            case value_type::int16: return non_negative(get<std::int16_t>());
            case value_type::int32: return non_negative(get<std::int32_t>());
            case value_type::int64: return non_negative(get<std::int64_t>());
            default: mismatch("an integer");
        }
    }

    /// An array's element type and length; raise if this is not an array.
    value_type element_type() const {
        if (m_type != value_type::array) mismatch("an array");
        return static_cast<value_type>(detail::load<std::uint32_t>(m_file + m_pos));
    }
    std::uint64_t size() const {
        if (m_type != value_type::array) mismatch("an array");
        return detail::load<std::uint64_t>(m_file + m_pos + 4);
    }
    /// An array's elements, in order (a forward range). Raises if this is not an array.
    array_range elements() const;

private:
    friend class file;
    friend class array_range;
    friend class writer;
    value(const unsigned char* file, std::size_t file_size, std::uint64_t pos, value_type type, std::string_view key)
        : m_file(file), m_file_size(file_size), m_pos(pos), m_type(type), m_key(key) {}

    [[noreturn]] void mismatch(const char* wanted) const {
        raise("gguf: metadata '" + detail::printable(m_key) + "' at offset " + detail::to_string(m_pos) + " is " +
              type_name(m_type) + ", not " + wanted);
    }
    template <class T>
    std::uint64_t non_negative(T v) const {
        if (v < 0)
            raise("gguf: metadata '" + detail::printable(m_key) + "' at offset " + detail::to_string(m_pos) + " is " +
                  std::to_string(v) + ", not a count >= 0");
        return static_cast<std::uint64_t>(v);
    }

    const unsigned char* m_file;
    std::size_t m_file_size;
    std::uint64_t m_pos;
    value_type m_type;
    std::string_view m_key;
};

/// The elements of an array value, walked one after the other (strings and arrays have no fixed size).
class array_range {
public:
    class iterator {
    public:
        value operator*() const { return m_element; }
        iterator& operator++() {
            // The file was checked when it was opened: this walk cannot fail.
            detail::parser p(m_element.m_file, m_element.m_file_size, m_element.m_pos, "array element");
            p.skip_value(m_element.m_type, 0);
            m_element.m_pos = p.pos();
            --m_left;
            return *this;
        }
        bool operator!=(const iterator& other) const noexcept { return m_left != other.m_left; }
        bool operator==(const iterator& other) const noexcept { return m_left == other.m_left; }

    private:
        friend class array_range;
        iterator(value element, std::uint64_t left) : m_element(element), m_left(left) {}
        value m_element;
        std::uint64_t m_left;
    };

    iterator begin() const { return {m_first, m_count}; }
    iterator end() const { return {m_first, 0}; }
    std::uint64_t size() const noexcept { return m_count; }

private:
    friend class value;
    array_range(value first, std::uint64_t count) : m_first(first), m_count(count) {}
    value m_first;
    std::uint64_t m_count;
};

inline array_range value::elements() const {
    const value_type element = element_type();
    return {value(m_file, m_file_size, m_pos + 12, element, m_key), size()};
}

/// One tensor of the table. Its data points into the file (zero copy): valid while the file object lives.
struct tensor {
    std::string_view name;
    const tensor_type* type;          // never null
    std::uint32_t n_dims;             // 1..4
    std::array<std::uint64_t, 4> ne;  // ne[0] contiguous; 1 past n_dims
    std::uint64_t offset;             // of the data in the file
    std::uint64_t bytes;
    const unsigned char* data;

    std::uint64_t elements() const noexcept { return ne[0] * ne[1] * ne[2] * ne[3]; }
    /// The matrix the views show (see the file comment): cols = ne[0], rows = ne[1] * ne[2] * ne[3].
    std::size_t cols() const noexcept { return static_cast<std::size_t>(ne[0]); }
    std::size_t rows() const noexcept { return static_cast<std::size_t>(ne[1] * ne[2] * ne[3]); }

    /// The blocks of a tensor stored in lowbit format Fmt; raises if it is another type.
    template <class Fmt>
    const_qmatrix_view<Fmt> view() const {
        check_type(Fmt::ggml_type, Fmt::name());
        return {data, rows(), cols()};
    }
    /// An f32 tensor; raises if it is another type, or if its data is not 4-byte aligned in memory (possible only
    /// with general.alignment < 4 or a caller's buffer at an odd address).
    matrix_view<const float> f32_view() const {
        check_type(ggml_id::f32, "f32");
        if (reinterpret_cast<std::uintptr_t>(data) % alignof(float) != 0)
            raise("gguf: tensor '" + detail::printable(name) + "' at offset " + detail::to_string(offset) +
                  ": its f32 data is not 4-byte aligned in memory");
        return {reinterpret_cast<const float*>(data), rows(), cols()};
    }
    matrix_view<const half_bytes> f16_view() const {
        check_type(ggml_id::f16, "f16");
        return {reinterpret_cast<const half_bytes*>(data), rows(), cols()};
    }
    matrix_view<const bf16_bytes> bf16_view() const {
        check_type(ggml_id::bf16, "bf16");
        return {reinterpret_cast<const bf16_bytes*>(data), rows(), cols()};
    }

private:
    void check_type(std::uint32_t id, const char* wanted) const {
        if (type->id != id)
            raise("gguf: tensor '" + detail::printable(name) + "' is " + type->name + ", not " + wanted);
    }
};

namespace detail {

/// The bytes of a file: memory-mapped (POSIX), else read into memory. Movable; the bytes never move.
class file_bytes {
public:
    file_bytes() = default;
#if defined(LOWBIT_GGUF_MMAP)
    explicit file_bytes(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail(path);
        struct stat st;
        const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        if (!regular) {
            const int error = errno ? errno : EINVAL;
            ::close(fd);
            errno = error;
            fail(path);
        }
        m_size = static_cast<std::size_t>(st.st_size);
        void* map = m_size ? ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
        const int error = errno;
        ::close(fd);
        if (map == MAP_FAILED) {
            errno = error;
            fail(path);
        }
        m_data = static_cast<const unsigned char*>(map);
    }
    ~file_bytes() {
        if (m_data) ::munmap(const_cast<unsigned char*>(m_data), m_size);
    }
#else
    explicit file_bytes(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) fail(path);
        m_buffer.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        m_data = m_buffer.data();
        m_size = m_buffer.size();
    }
#endif
    file_bytes(file_bytes&& other) noexcept { swap(other); }
    file_bytes& operator=(file_bytes&& other) noexcept {
        swap(other);
        return *this;
    }
    const unsigned char* data() const noexcept { return m_data; }
    std::size_t size() const noexcept { return m_size; }

private:
    [[noreturn]] static void fail(const std::string& path) {
        raise("gguf: cannot read '" + path + "': " + std::strerror(errno));
    }
    void swap(file_bytes& other) noexcept {
        std::swap(m_data, other.m_data);
        std::swap(m_size, other.m_size);
#if !defined(LOWBIT_GGUF_MMAP)
        m_buffer.swap(other.m_buffer);
#endif
    }

    const unsigned char* m_data = nullptr;
    std::size_t m_size = 0;
#if !defined(LOWBIT_GGUF_MMAP)
    std::vector<unsigned char> m_buffer;
#endif
};

/// Indices of `items` sorted by `name_of`, each name once: raises `duplicate(later, first)` otherwise.
template <class Item, class Name, class Duplicate>
std::vector<std::size_t> index_by_name(const std::vector<Item>& items, Name name_of, Duplicate duplicate) {
    std::vector<std::size_t> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return name_of(items[a]) < name_of(items[b]); });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (name_of(items[order[i - 1]]) == name_of(items[order[i]])) duplicate(items[order[i]], items[order[i - 1]]);
    return order;
}

template <class Item, class Name>
const Item* find_by_name(const std::vector<Item>& items, const std::vector<std::size_t>& order, std::string_view name,
                         Name name_of) noexcept {
    const auto it = std::lower_bound(order.begin(), order.end(), name,
                                     [&](std::size_t i, std::string_view n) { return name_of(items[i]) < n; });
    return it != order.end() && name_of(items[*it]) == name ? &items[*it] : nullptr;
}

}  // namespace detail

/// A parsed GGUF file: its metadata and tensor table, checked in full at construction. Movable, not copyable;
/// values, tensors and views point into the bytes it holds (the mapping, or the caller's buffer).
class file {
public:
    /// Memory-maps `path` (reads it into memory where there is no mmap) and parses it. The file must not shrink
    /// while it is mapped (a read past its new end is a SIGBUS, as with any mapping).
    explicit file(const std::string& path) : m_bytes(path) { parse(m_bytes.data(), m_bytes.size()); }
    /// Parses `size` bytes at `data`, without copying them: they must outlive this object and what it hands out.
    file(const void* data, std::size_t size) { parse(static_cast<const unsigned char*>(data), size); }

    std::uint32_t version() const noexcept { return m_version; }
    /// general.alignment, or 32.
    std::uint64_t alignment() const noexcept { return m_alignment; }
    /// Where the tensor data starts in the file.
    std::uint64_t data_offset() const noexcept { return m_data_offset; }
    const unsigned char* data() const noexcept { return m_data; }
    std::size_t size() const noexcept { return m_size; }

    /// Every metadata value, in file order.
    const std::vector<value>& metadata() const noexcept { return m_metadata; }
    /// The value of `key`, or nullptr.
    const value* find(std::string_view key) const noexcept {
        return detail::find_by_name(m_metadata, m_metadata_order, key, [](const value& v) { return v.key(); });
    }
    /// The value of `key`; raises if there is none.
    const value& at(std::string_view key) const {
        if (const value* v = find(key)) return *v;
        raise("gguf: no metadata key '" + detail::printable(key) + "'");
    }
    /// The value of `key` as T (value::get); raises if there is none or it has another type.
    template <class T>
    T get(std::string_view key) const {
        return at(key).get<T>();
    }

    /// The tensor table, in file order.
    const std::vector<tensor>& tensors() const noexcept { return m_tensors; }
    /// The tensor called `name`, or nullptr.
    const tensor* find_tensor(std::string_view name) const noexcept {
        return detail::find_by_name(m_tensors, m_tensor_order, name, [](const tensor& t) { return t.name; });
    }
    /// The tensor called `name`; raises if there is none.
    const tensor& get_tensor(std::string_view name) const {
        if (const tensor* t = find_tensor(name)) return *t;
        raise("gguf: no tensor '" + detail::printable(name) + "'");
    }

private:
    void parse(const unsigned char* data, std::size_t size);
    void parse_metadata(detail::parser& p, std::uint64_t count);
    /// Reads the tensor infos; returns where each began.
    std::vector<std::uint64_t> parse_tensor_infos(detail::parser& p, std::uint64_t count);

    detail::file_bytes m_bytes;
    const unsigned char* m_data = nullptr;
    std::size_t m_size = 0;
    std::uint32_t m_version = 0;
    std::uint64_t m_alignment = 32;
    std::uint64_t m_data_offset = 0;
    std::vector<value> m_metadata;
    std::vector<std::size_t> m_metadata_order;  // indices sorted by key
    std::vector<tensor> m_tensors;
    std::vector<std::size_t> m_tensor_order;  // indices sorted by name
};

inline void file::parse(const unsigned char* data, std::size_t size) {
    m_data = data;
    m_size = size;
    detail::parser p(data, size, 0, "header");
    if (p.read<std::uint32_t>("magic") != 0x46554747u)  // "GGUF"
        p.fail(0, "magic '" + detail::printable({reinterpret_cast<const char*>(data), 4}) +
                      "' is not 'GGUF': not a GGUF file");
    m_version = p.read<std::uint32_t>("version");
    if (m_version == 1)
        p.fail(4, "version 1 is not supported (GGUF v1 has 32-bit counts and lengths); only 2 and 3 are");
    if (m_version != 2 && m_version != 3)
        p.fail(4, "version " + detail::to_string(m_version) + " is not supported (only 2 and 3 are" +
                      ((m_version & 0xFFFF) == 0 ? "; a big-endian file?)" : ")"));
    const auto tensor_count = p.read<std::uint64_t>("tensor count");
    const auto metadata_count = p.read<std::uint64_t>("metadata count");
    const std::uint64_t left = size - p.pos();
    if (metadata_count > left / detail::min_metadata_bytes)
        p.fail(16, "metadata count " + detail::to_string(metadata_count) + " cannot fit in the " +
                       detail::to_string(left) + " bytes that follow");
    if (tensor_count > (left - metadata_count * detail::min_metadata_bytes) / detail::min_tensor_info_bytes)
        p.fail(8, "tensor count " + detail::to_string(tensor_count) + " cannot fit in the " + detail::to_string(left) +
                      " bytes that follow");
    parse_metadata(p, metadata_count);
    const std::vector<std::uint64_t> info_offsets = parse_tensor_infos(p, tensor_count);

    m_data_offset = (p.pos() + m_alignment - 1) / m_alignment * m_alignment;
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        tensor& t = m_tensors[i];
        p.item = "tensor '" + detail::printable(t.name) + "'";
        const std::uint64_t stored = t.offset;
        if (m_data_offset > size || stored > size - m_data_offset || t.bytes > size - m_data_offset - stored)
            p.fail(info_offsets[i], "data [" + detail::to_string(m_data_offset) + " + " + detail::to_string(stored) +
                                        ", +" + detail::to_string(t.bytes) + ") lies outside the file (size " +
                                        detail::to_string(size) + ")");
        t.offset = m_data_offset + stored;
        t.data = data + t.offset;
    }
    m_tensor_order = detail::index_by_name(
        m_tensors, [](const tensor& t) { return t.name; },
        [&](const tensor& later, const tensor& first) {
            p.item = "tensor '" + detail::printable(later.name) + "'";
            p.fail(info_offsets[static_cast<std::size_t>(&later - m_tensors.data())],
                   "duplicate name (also at offset " +
                       detail::to_string(info_offsets[static_cast<std::size_t>(&first - m_tensors.data())]) + ")");
        });
}

inline void file::parse_metadata(detail::parser& p, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
        p.item = "metadata #" + detail::to_string(i);
        const std::string_view key = p.read_string("key");
        p.item = "metadata '" + detail::printable(key) + "'";
        const value_type type = p.read_type("value type");
        m_metadata.push_back(value(m_data, m_size, p.pos(), type, key));
        p.skip_value(type, 0);
    }
    m_metadata_order = detail::index_by_name(
        m_metadata, [](const value& v) { return v.key(); },
        [&](const value& later, const value& first) {
            p.item = "metadata '" + detail::printable(later.key()) + "'";
            p.fail(later.offset(), "duplicate key (also at offset " + detail::to_string(first.offset()) + ")");
        });
    if (const value* alignment = find("general.alignment")) {
        p.item = "metadata 'general.alignment'";
        if (alignment->type() != value_type::uint32)
            p.fail(alignment->offset(), std::string("is ") + type_name(alignment->type()) + ", not uint32");
        m_alignment = alignment->get<std::uint32_t>();
        if (m_alignment == 0 || (m_alignment & (m_alignment - 1)) != 0)
            p.fail(alignment->offset(), detail::to_string(m_alignment) + " is not a power of two");
    }
}

inline std::vector<std::uint64_t> file::parse_tensor_infos(detail::parser& p, std::uint64_t count) {
    std::vector<std::uint64_t> info_offsets;
    for (std::uint64_t i = 0; i < count; ++i) {
        info_offsets.push_back(p.pos());
        p.item = "tensor #" + detail::to_string(i);
        tensor t{};
        t.name = p.read_string("name");
        p.item = "tensor '" + detail::printable(t.name) + "'";
        const std::uint64_t n_dims_at = p.pos();
        t.n_dims = p.read<std::uint32_t>("n_dims");
        if (t.n_dims < 1 || t.n_dims > 4)
            p.fail(n_dims_at, "n_dims " + detail::to_string(t.n_dims) + " is not in 1..4");
        const std::uint64_t ne_at = p.pos();
        t.ne = {1, 1, 1, 1};
        std::uint64_t elements = 1;
        for (std::uint32_t d = 0; d < t.n_dims; ++d) {
            const std::string field = "ne[" + detail::to_string(d) + "]";
            const std::uint64_t at = p.pos();
            t.ne[d] = p.read<std::uint64_t>(field.c_str());
            // ggml holds shapes and element counts in int64.
            constexpr auto max_elements = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
            if (t.ne[d] == 0) p.fail(at, field + " is 0");
            if (t.ne[d] > max_elements / elements)
                p.fail(at, field + " = " + detail::to_string(t.ne[d]) + ": the shape has more than 2^63 elements");
            elements *= t.ne[d];
        }
        const std::uint64_t type_at = p.pos();
        const auto id = p.read<std::uint32_t>("type");
        t.type = find_tensor_type(id);
        if (!t.type) p.fail(type_at, "type " + detail::to_string(id) + " is not a GGML type");
        if (t.ne[0] % t.type->block_size != 0)
            p.fail(ne_at, "ne[0] = " + detail::to_string(t.ne[0]) + " is not a multiple of " + t.type->name +
                              "'s block of " + detail::to_string(t.type->block_size) + " values");
        const std::uint64_t blocks = elements / t.type->block_size;
        if (blocks > m_size / t.type->block_bytes)
            p.fail(ne_at, "its " + detail::to_string(blocks) + " " + t.type->name +
                              " blocks are larger than the file (size " + detail::to_string(m_size) + ")");
        t.bytes = blocks * t.type->block_bytes;
        const std::uint64_t offset_at = p.pos();
        t.offset = p.read<std::uint64_t>("data offset");  // from the data start until parse() adds it
        if (t.offset % m_alignment != 0)
            p.fail(offset_at, "data offset " + detail::to_string(t.offset) + " is not a multiple of the alignment " +
                                  detail::to_string(m_alignment));
        m_tensors.push_back(t);
    }
    return info_offsets;
}

namespace detail {

template <class F>
decltype(auto) visit_float(const tensor& t, F& f) {
    switch (t.type->id) {
        case ggml_id::f32: return f(t.f32_view());
        case ggml_id::f16: return f(t.f16_view());
        case ggml_id::bf16: return f(t.bf16_view());
        default: raise("gguf: tensor '" + printable(t.name) + "' is " + t.type->name + ", which lowbit has no view of");
    }
}

template <class F, class Fmt, class... Rest>
decltype(auto) visit_formats(const tensor& t, F& f, type_list<Fmt, Rest...>) {
    if (t.type->id == Fmt::ggml_type) return f(t.view<Fmt>());
    if constexpr (sizeof...(Rest) == 0)
        return visit_float(t, f);
    else
        return visit_formats(t, f, type_list<Rest...>{});
}

/// Writes row r of any view as floats.
struct row_to_float {
    std::size_t r;
    float* y;
    template <class Fmt, class Block>
    void operator()(qmatrix_view<Fmt, Block> v) const {
        lowbit::dequantize_row(v.row(r), v.cols(), y);
    }
    void operator()(matrix_view<const float> v) const { std::copy_n(v.row(r), v.cols(), y); }
    void operator()(matrix_view<const half_bytes> v) const {
        for (std::size_t c = 0; c < v.cols(); ++c) y[c] = load_half(v(r, c));
    }
    void operator()(matrix_view<const bf16_bytes> v) const {
        for (std::size_t c = 0; c < v.cols(); ++c) y[c] = v(r, c).value();
    }
};

}  // namespace detail

/// Calls f with the tensor's typed view: const_qmatrix_view<Fmt> for each lowbit format (every format of
/// lowbit::all_formats), matrix_view<const float> for f32, matrix_view<const half_bytes> for f16 and
/// matrix_view<const bf16_bytes> for bf16; returns what f returns (the same type for every view). Raises for the
/// types lowbit has no view of (tensor.type->viewable is false).
template <class F>
decltype(auto) visit(const tensor& t, F&& f) {
    return detail::visit_formats(t, f, all_formats{});
}

/// Writes row r of a viewable tensor (t.cols() floats) to y: dequantized, or converted from f16 / bf16.
inline void dequantize_row(const tensor& t, std::size_t r, float* y) {
    if (r >= t.rows())
        raise("gguf: tensor '" + detail::printable(t.name) + "' has " + detail::to_string(t.rows()) + " rows, not " +
              detail::to_string(r + 1));
    visit(t, detail::row_to_float{r, y});
}

/// Writes GGUF v3 files: metadata (set here, or copied from a file) and a tensor table, then each tensor's data,
/// produced one tensor at a time so that a model never has to be in memory whole.
///
///   lowbit::gguf::writer out;
///   out.copy_metadata(model);                                  // every key of a file, in its order
///   out.set("general.file_type", std::uint32_t{15});            // replaces the value, or appends the key
///   out.add_tensor("blk.0.attn_q.weight", lowbit::q4_K::ggml_type, {4096, 4096});   // ne[0] first
///   out.write("out.gguf", [&](std::size_t i, unsigned char* data) { /* tensor_bytes(i) bytes of tensor i */ });
///
/// What it writes, lowbit's reader and ggml's read: keys and tensor names unique, names under 64 bytes (ggml's
/// GGML_MAX_NAME), general.alignment a uint32 power of two (default 32), every tensor's data at a multiple of it,
/// ne[0] a multiple of the type's block. Breaking a rule raises lowbit::error when the key or tensor is added.
class writer {
public:
    /// A number or bool; its GGUF type is T's (std::uint8_t ... std::int64_t, float, double, bool).
    template <class T, class = std::enable_if_t<std::is_arithmetic<T>::value>>
    void set(std::string_view key, T v) {
        constexpr value_type type = detail::value_type_of<T>();
        std::vector<unsigned char> payload(detail::fixed_size(type));
        if constexpr (type == value_type::boolean) payload[0] = v ? 1 : 0;
        else std::memcpy(payload.data(), &v, sizeof(T));
        put(key, type, std::move(payload));
    }
    void set(std::string_view key, std::string_view text) {
        std::vector<unsigned char> payload;
        append_string(payload, text);
        put(key, value_type::string, std::move(payload));
    }
    void set(std::string_view key, const char* text) { set(key, std::string_view(text)); }
    /// An array of numbers or bools.
    template <class T>
    void set_array(std::string_view key, const std::vector<T>& values) {
        constexpr value_type type = detail::value_type_of<T>();
        static_assert(type != value_type::string, "strings: set_array(key, std::vector<std::string>)");
        std::vector<unsigned char> payload;
        append_array_head(payload, type, values.size());
        for (const T& v : values) {
            unsigned char bytes[sizeof(T)];
            if constexpr (type == value_type::boolean) bytes[0] = v ? 1 : 0;
            else std::memcpy(bytes, &v, sizeof(T));
            payload.insert(payload.end(), bytes, bytes + detail::fixed_size(type));
        }
        put(key, value_type::array, std::move(payload));
    }
    void set_array(std::string_view key, const std::vector<std::string>& values) {
        std::vector<unsigned char> payload;
        append_array_head(payload, value_type::string, values.size());
        for (const std::string& v : values) append_string(payload, v);
        put(key, value_type::array, std::move(payload));
    }
    /// A value read from a file (any type, arrays of arrays included), copied byte for byte.
    void set(std::string_view key, const value& v) {
        detail::parser p(v.m_file, v.m_file_size, v.m_pos, "metadata");
        p.skip_value(v.type(), 0);  // checked when the file was opened: cannot fail
        put(key, v.type(), std::vector<unsigned char>(v.m_file + v.m_pos, v.m_file + p.pos()));
    }
    /// Every metadata key of `model`, in its order (replacing keys already set).
    void copy_metadata(const file& model) {
        for (const value& v : model.metadata()) set(v.key(), v);
    }
    /// Removes a key; false if it was not there.
    bool erase(std::string_view key) {
        const auto it = find(key);
        if (it == m_metadata.end()) return false;
        m_metadata.erase(it);
        return true;
    }
    bool contains(std::string_view key) const { return find(key) != m_metadata.end(); }

    /// Appends a tensor of GGML type `ggml_type` (lowbit's Fmt::ggml_type, or gguf::ggml_id) and shape ne (1 to 4
    /// dimensions, ne[0] contiguous); returns its index.
    std::size_t add_tensor(std::string_view name, std::uint32_t ggml_type, const std::vector<std::uint64_t>& ne) {
        const std::string what = "gguf writer: tensor '" + detail::printable(name) + "'";
        if (name.empty() || name.size() >= max_name_bytes)
            raise(what + ": a name has 1 to " + std::to_string(max_name_bytes - 1) + " bytes, not " +
                  std::to_string(name.size()));
        for (const tensor_entry& t : m_tensors)
            if (t.name == name) raise(what + ": duplicate name");
        const tensor_type* type = find_tensor_type(ggml_type);
        if (!type) raise(what + ": type " + std::to_string(ggml_type) + " is not a GGML type");
        if (ne.empty() || ne.size() > 4) raise(what + ": " + std::to_string(ne.size()) + " dimensions, not 1 to 4");
        constexpr auto max_elements = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        std::uint64_t elements = 1;
        for (const std::uint64_t n : ne) {
            if (n == 0 || n > max_elements / elements)
                raise(what + ": shape dimension " + detail::to_string(n) + " is 0 or makes more than 2^63 elements");
            elements *= n;
        }
        if (ne[0] % type->block_size != 0)
            raise(what + ": ne[0] = " + detail::to_string(ne[0]) + " is not a multiple of " + type->name +
                  "'s block of " + detail::to_string(type->block_size) + " values");
        m_tensors.push_back({std::string(name), type, ne, elements / type->block_size * type->block_bytes});
        return m_tensors.size() - 1;
    }
    std::size_t tensor_count() const noexcept { return m_tensors.size(); }
    std::uint64_t tensor_bytes(std::size_t i) const { return m_tensors.at(i).bytes; }

    /// general.alignment if set (a uint32 power of two), else GGUF's default of 32.
    std::uint64_t alignment() const {
        const auto it = find("general.alignment");
        if (it == m_metadata.end()) return 32;
        std::uint32_t a = 0;
        if (it->type == value_type::uint32) std::memcpy(&a, it->payload.data(), 4);
        if (a == 0 || (a & (a - 1)) != 0)
            raise("gguf writer: general.alignment must be a uint32 power of two, not " +
                  (it->type == value_type::uint32 ? detail::to_string(a) : std::string(type_name(it->type))));
        return a;
    }

    /// The bytes before the first tensor's data: header, metadata, tensor table and padding.
    std::vector<unsigned char> header() const {
        const std::uint64_t align = alignment();
        std::vector<unsigned char> out;
        append<std::uint32_t>(out, 0x46554747u);  // "GGUF"
        append<std::uint32_t>(out, 3);
        append<std::uint64_t>(out, m_tensors.size());
        append<std::uint64_t>(out, m_metadata.size());
        for (const metadata_entry& m : m_metadata) {
            append_string(out, m.key);
            append<std::uint32_t>(out, static_cast<std::uint32_t>(m.type));
            out.insert(out.end(), m.payload.begin(), m.payload.end());
        }
        std::uint64_t offset = 0;
        for (const tensor_entry& t : m_tensors) {
            append_string(out, t.name);
            append<std::uint32_t>(out, static_cast<std::uint32_t>(t.ne.size()));
            for (const std::uint64_t n : t.ne) append<std::uint64_t>(out, n);
            append<std::uint32_t>(out, t.type->id);
            append<std::uint64_t>(out, offset);
            offset += padded(t.bytes, align);
        }
        out.resize(padded(out.size(), align), 0);
        return out;
    }

    /// Writes the file: the header, then for each tensor in order, fill(i, data) with data pointing to
    /// tensor_bytes(i) zeroed bytes to fill in (a buffer reused from tensor to tensor). An exception from fill or a
    /// failed write propagates (after closing the file; what was written stays: remove it if that matters).
    template <class Fill>
    void write(const std::string& path, Fill&& fill) const {
        const std::vector<unsigned char> head = header();  // first: it checks the alignment
        const std::uint64_t align = alignment();
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
        if (!f) raise("gguf writer: cannot open '" + path + "' for writing: " + std::strerror(errno));
        const auto put_bytes = [&](const void* data, std::size_t bytes) {
            if (bytes && std::fwrite(data, 1, bytes, f.get()) != bytes)
                raise("gguf writer: cannot write '" + path + "': " + std::strerror(errno));
        };
        put_bytes(head.data(), head.size());
        std::vector<unsigned char> data;
        for (std::size_t i = 0; i < m_tensors.size(); ++i) {
            const std::uint64_t bytes = m_tensors[i].bytes;
            if (bytes > std::numeric_limits<std::size_t>::max() - align)
                raise("gguf writer: tensor '" + m_tensors[i].name + "' is too large for this machine");
            data.assign(static_cast<std::size_t>(padded(bytes, align)), 0);
            fill(i, data.data());
            put_bytes(data.data(), data.size());
        }
        if (std::fflush(f.get()) != 0) raise("gguf writer: cannot write '" + path + "': " + std::strerror(errno));
    }

private:
    static constexpr std::size_t max_name_bytes = 64;

    struct metadata_entry {
        std::string key;
        value_type type;
        std::vector<unsigned char> payload;  // the value's bytes after its type
    };
    struct tensor_entry {
        std::string name;
        const tensor_type* type;
        std::vector<std::uint64_t> ne;
        std::uint64_t bytes;
    };

    static std::uint64_t padded(std::uint64_t n, std::uint64_t align) { return (n + align - 1) / align * align; }
    template <class T>
    static void append(std::vector<unsigned char>& out, T v) {
        unsigned char bytes[sizeof(T)];
        std::memcpy(bytes, &v, sizeof(T));
        out.insert(out.end(), bytes, bytes + sizeof(T));
    }
    static void append_string(std::vector<unsigned char>& out, std::string_view text) {
        append<std::uint64_t>(out, text.size());
        out.insert(out.end(), text.begin(), text.end());
    }
    static void append_array_head(std::vector<unsigned char>& out, value_type element, std::uint64_t count) {
        append<std::uint32_t>(out, static_cast<std::uint32_t>(element));
        append<std::uint64_t>(out, count);
    }

    std::vector<metadata_entry>::const_iterator find(std::string_view key) const {
        return std::find_if(m_metadata.begin(), m_metadata.end(), [&](const metadata_entry& m) { return m.key == key; });
    }
    void put(std::string_view key, value_type type, std::vector<unsigned char> payload) {
        const auto it = find(key);
        if (it != m_metadata.end()) {
            m_metadata[static_cast<std::size_t>(it - m_metadata.begin())] = {std::string(key), type, std::move(payload)};
            return;
        }
        m_metadata.push_back({std::string(key), type, std::move(payload)});
    }

    std::vector<metadata_entry> m_metadata;
    std::vector<tensor_entry> m_tensors;
};

}  // namespace gguf

LOWBIT_NAMESPACE_END
