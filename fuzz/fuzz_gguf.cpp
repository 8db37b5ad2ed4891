// fuzz_gguf: lowbit::gguf::file (include/lowbit/gguf.hpp) on arbitrary bytes, through the buffer constructor.
//   - parsing either succeeds or raises lowbit::error; any other exception, a crash or a sanitizer report is a
//     finding (libFuzzer's copy of the input is an exact-size heap block: ASan sees any read past it);
//   - on success every metadata value is read (arrays walked to the bottom), every tensor's data lies inside the
//     input at the file's alignment, and the first and last rows of every viewable tensor are dequantized into an
//     exact-size buffer through visit;
//   - gguf::writer copies the file (metadata and tensors, as lowbit requantize does) into a buffer that parses again
//     to the same keys, values, tensors and data, unless the writer refuses it with lowbit::error (a name ggml
//     could not hold).
// Seeds: fuzz/corpus/fuzz_gguf/ (the files of tests/data/gguf/ that fit in scripts/fuzz.sh's -max_len).
#include "fuzz_common.hpp"

#include <lowbit/gguf.hpp>

#include <cstring>
#include <vector>

/// What read_all sums up, kept where the optimizer cannot drop the reads that produce it.
std::uint64_t fuzz_gguf_checksum;

namespace {

namespace gguf = lowbit::gguf;

/// Reads v and everything inside it; returns a checksum so that nothing is optimized away.
std::uint64_t read_all(const gguf::value& v) {
    switch (v.type()) {
        case gguf::value_type::uint8: return v.get<std::uint8_t>();
        case gguf::value_type::int8: return static_cast<std::uint64_t>(v.get<std::int8_t>());
        case gguf::value_type::uint16: return v.get<std::uint16_t>();
        case gguf::value_type::int16: return static_cast<std::uint64_t>(v.get<std::int16_t>());
        case gguf::value_type::uint32: return v.get<std::uint32_t>();
        case gguf::value_type::int32: return static_cast<std::uint64_t>(v.get<std::int32_t>());
        case gguf::value_type::uint64: return v.get<std::uint64_t>();
        case gguf::value_type::int64: return static_cast<std::uint64_t>(v.get<std::int64_t>());
        case gguf::value_type::float32: return v.get<float>() > 0;
        case gguf::value_type::float64: return v.get<double>() > 0;
        case gguf::value_type::boolean: return v.get<bool>();
        case gguf::value_type::string: {
            std::uint64_t sum = 0;
            for (const char c : v.get<std::string_view>()) sum += static_cast<unsigned char>(c);
            return sum;
        }
        case gguf::value_type::array: {
            std::uint64_t sum = 0, count = 0;
            for (const gguf::value& element : v.elements()) {
                LOWBIT_FUZZ_REQUIRE(element.type() == v.element_type(), "array element of another type");
                sum += read_all(element);
                ++count;
            }
            LOWBIT_FUZZ_REQUIRE(count == v.size(), "walked %llu of %llu elements",
                                static_cast<unsigned long long>(count), static_cast<unsigned long long>(v.size()));
            return sum;
        }
    }
    LOWBIT_FUZZ_REQUIRE(false, "value type %u", static_cast<unsigned>(v.type()));
}

void check_tensor(const gguf::file& f, const gguf::tensor& t) {
    LOWBIT_FUZZ_REQUIRE(t.data == f.data() + t.offset && t.offset <= f.size() && t.bytes <= f.size() - t.offset,
                        "tensor data [%llu, +%llu) outside %zu bytes", static_cast<unsigned long long>(t.offset),
                        static_cast<unsigned long long>(t.bytes), f.size());
    LOWBIT_FUZZ_REQUIRE(t.offset % f.alignment() == 0 && t.offset >= f.data_offset(), "tensor data misplaced");
    if (!t.type->viewable) return;
    const std::size_t view_bytes = gguf::visit(t, [](auto view) {
        return view.rows() * static_cast<std::size_t>(view.row(1) - view.row(0)) * sizeof(*view.row(0));
    });
    LOWBIT_FUZZ_REQUIRE(view_bytes == t.bytes, "view of %zu bytes, tensor of %llu", view_bytes,
                        static_cast<unsigned long long>(t.bytes));
    std::vector<float> row(t.cols());
    for (const std::size_t r : {std::size_t{0}, t.rows() - 1}) {
        gguf::dequantize_row(t, r, row.data());
    }
}

/// Copies f through gguf::writer into memory and checks that the copy reads back the same.
void check_copy(const gguf::file& f) {
    gguf::writer w;
    w.copy_metadata(f);
    // The copy's header is padded to the alignment, which may be any power of two up to 2^31 even in a file with no
    // tensor (so no padding of its own): such a copy would be gigabytes.
    std::uint64_t data_bytes = f.alignment();
    try {
        for (const gguf::tensor& t : f.tensors()) {
            w.add_tensor(t.name, t.type->id, {t.ne.begin(), t.ne.begin() + t.n_dims});
            data_bytes += t.bytes + f.alignment();
        }
    } catch (const lowbit::error&) {
        return;  // refused by the writer's stricter rules
    }
    if (data_bytes > 4 * f.size() + 4096) return;  // tensors sharing their data: a copy would be larger
    std::vector<unsigned char> copy = w.header();
    for (std::size_t i = 0; i < f.tensors().size(); ++i) {
        const gguf::tensor& t = f.tensors()[i];
        copy.insert(copy.end(), t.data, t.data + t.bytes);
        copy.resize((copy.size() + f.alignment() - 1) / f.alignment() * f.alignment());
    }
    const gguf::file g(copy.data(), copy.size());
    LOWBIT_FUZZ_REQUIRE(g.metadata().size() == f.metadata().size() && g.tensors().size() == f.tensors().size() &&
                            g.alignment() == f.alignment(),
                        "the copy has other counts");
    for (std::size_t i = 0; i < f.metadata().size(); ++i)
        LOWBIT_FUZZ_REQUIRE(g.metadata()[i].key() == f.metadata()[i].key() &&
                                g.metadata()[i].type() == f.metadata()[i].type() &&
                                read_all(g.metadata()[i]) == read_all(f.metadata()[i]),
                            "metadata %zu differs in the copy", i);
    for (std::size_t i = 0; i < f.tensors().size(); ++i) {
        const gguf::tensor &a = f.tensors()[i], &b = g.tensors()[i];
        LOWBIT_FUZZ_REQUIRE(a.name == b.name && a.type == b.type && a.ne == b.ne && a.n_dims == b.n_dims &&
                                a.bytes == b.bytes && std::memcmp(a.data, b.data, a.bytes) == 0,
                            "tensor %zu differs in the copy", i);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const gguf::file f(data, size);
        std::uint64_t sum = 0;
        for (const gguf::value& v : f.metadata()) {
            LOWBIT_FUZZ_REQUIRE(f.find(v.key()) == &v, "metadata lookup");
            sum += read_all(v);
        }
        for (const gguf::tensor& t : f.tensors()) {
            LOWBIT_FUZZ_REQUIRE(f.find_tensor(t.name) == &t, "tensor lookup");
            check_tensor(f, t);
        }
        fuzz_gguf_checksum += sum;
        check_copy(f);
    } catch (const lowbit::error&) {
        // A refused file: what the reader must do with bad input.
    }
    return 0;
}
