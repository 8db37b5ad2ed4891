// fuzz_gguf: lowbit::gguf::file (include/lowbit/gguf.hpp) on arbitrary bytes, through the buffer constructor.
//   - parsing either succeeds or raises lowbit::error; any other exception, a crash or a sanitizer report is a
//     finding (libFuzzer's copy of the input is an exact-size heap block: ASan sees any read past it);
//   - on success every metadata value is read (arrays walked to the bottom), every tensor's data lies inside the
//     input at the file's alignment, and the first and last rows of every viewable tensor are dequantized into an
//     exact-size buffer through visit.
// Seeds: fuzz/corpus/fuzz_gguf/ (the files of tests/data/gguf/ that fit in scripts/fuzz.sh's -max_len).
#include "fuzz_common.hpp"

#include <lowbit/gguf.hpp>

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
    } catch (const lowbit::error&) {
        // A refused file: what the reader must do with bad input.
    }
    return 0;
}
