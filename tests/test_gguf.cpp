// lowbit::gguf (include/lowbit/gguf.hpp) on the files the `gguf` Python package wrote (tools/golden/gen_gguf.py,
// tests/data/gguf/): metadata, the tensor table and every tensor's values as gguf reads them, bit for bit; then
// malformed files built here, each of which must raise lowbit::error with a message naming what is wrong; and
// gguf::writer: copies byte-identical to those files, values read back as set, the rules it enforces.
// Built as its own executable (lowbit_tests_gguf, ctest lowbit.gguf), not into every backend's suite.
#include "test_common.hpp"

#include <lowbit/gguf.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

using namespace lowbit_test;
namespace gguf = lowbit::gguf;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string data_path(const std::string& name) { return std::string(LOWBIT_TEST_DATA_DIR) + "/gguf/" + name; }

std::vector<unsigned char> read_bytes(const std::string& name) {
    std::ifstream in(data_path(name), std::ios::binary);
    INFO("test file " << data_path(name) << " (regenerate with tools/golden/generate.sh)");
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_floats(const std::string& name) {
    const std::vector<unsigned char> bytes = read_bytes(name);
    REQUIRE(bytes.size() % 4 == 0);
    std::vector<float> values(bytes.size() / 4);
    std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
}

/// Checks that every viewable tensor of f, row by row in table order, dequantizes to `want`'s floats.
void require_gguf_values(const gguf::file& f, const std::vector<float>& want) {
    std::size_t at = 0;
    for (const gguf::tensor& t : f.tensors()) {
        if (!t.type->viewable) continue;
        std::vector<float> row(t.cols());
        for (std::size_t r = 0; r < t.rows(); ++r) {
            gguf::dequantize_row(t, r, row.data());
            REQUIRE(at + row.size() <= want.size());
            for (std::size_t c = 0; c < row.size(); ++c)
                LOWBIT_REQUIRE_CAPTURE(same_float(row[c], want[at + c]), t.name, r, c);
            at += row.size();
        }
    }
    REQUIRE(at == want.size());
}

/// A GGUF file built byte by byte, for malformed inputs.
struct gguf_bytes {
    std::vector<unsigned char> bytes;

    template <class T>
    gguf_bytes& put(T v) {
        const auto* p = reinterpret_cast<const unsigned char*>(&v);
        bytes.insert(bytes.end(), p, p + sizeof(T));
        return *this;
    }
    gguf_bytes& u32(std::uint32_t v) { return put(v); }
    gguf_bytes& u64(std::uint64_t v) { return put(v); }
    gguf_bytes& str(const std::string& s) {
        u64(s.size());
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    gguf_bytes& header(std::uint64_t tensors, std::uint64_t metadata, std::uint32_t version = 3) {
        bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
        return u32(version).u64(tensors).u64(metadata);
    }
    /// A metadata entry's key and value type; the value follows.
    gguf_bytes& key(const std::string& k, gguf::value_type t) { return str(k).u32(static_cast<std::uint32_t>(t)); }
    gguf_bytes& tensor_info(const std::string& name, std::vector<std::uint64_t> ne, std::uint32_t type,
                            std::uint64_t offset) {
        str(name).u32(static_cast<std::uint32_t>(ne.size()));
        for (std::uint64_t n : ne) u64(n);
        return u32(type).u64(offset);
    }
    /// Zeros up to the data start (alignment 32) and `data` bytes of tensor data.
    gguf_bytes& data(std::size_t data_bytes, std::size_t alignment = 32) {
        bytes.resize((bytes.size() + alignment - 1) / alignment * alignment + data_bytes);
        return *this;
    }
    gguf::file parse() const { return {bytes.data(), bytes.size()}; }
};

using vt = gguf::value_type;
constexpr std::uint32_t ggml_q4_K = lowbit::q4_K::ggml_type;

}  // namespace

TEST_CASE("gguf: metadata of every value type, as gguf wrote it", "[gguf]") {
    const gguf::file f(data_path("tiny_llama.gguf"));
    CHECK(f.version() == 3);
    CHECK(f.alignment() == 32);
    CHECK(f.get<std::string_view>("general.architecture") == "llama");
    CHECK(f.get<std::string_view>("general.name") == "tiny llama");
    CHECK(f.get<std::uint32_t>("llama.context_length") == 256);
    CHECK(f.at("llama.attention.head_count_kv").get_unsigned() == 2);
    CHECK(f.get<std::uint8_t>("test.uint8") == 200);
    CHECK(f.get<std::int8_t>("test.int8") == -100);
    CHECK(f.get<std::uint16_t>("test.uint16") == 60000);
    CHECK(f.get<std::int16_t>("test.int16") == -30000);
    CHECK(f.get<std::uint32_t>("test.uint32") == 4000000000u);
    CHECK(f.get<std::int32_t>("test.int32") == -2000000000);
    CHECK(f.get<std::uint64_t>("test.uint64") == (std::uint64_t{1} << 40) + 3);
    CHECK(f.get<std::int64_t>("test.int64") == -(std::int64_t{1} << 40));
    CHECK(f.get<float>("test.float32") == 0.1f);
    CHECK(f.get<double>("test.float64") == 0.1);
    CHECK(f.get<float>("llama.rope.freq_base") == 10000.0f);
    CHECK(f.get<bool>("test.true"));
    CHECK_FALSE(f.get<bool>("test.false"));
    CHECK(f.get<std::string_view>("test.string") == "w\xc3\xb6rld");
    CHECK(f.metadata().size() == 29);
    CHECK(f.metadata().front().key() == "general.architecture");
    CHECK(f.find("no.such.key") == nullptr);

    SECTION("arrays") {
        auto elements = [&](const char* key, auto get) {
            std::vector<decltype(get(std::declval<gguf::value>()))> out;
            for (const gguf::value& v : f.at(key).elements()) out.push_back(get(v));
            return out;
        };
        CHECK(elements("test.array_u8", [](gguf::value v) { return v.get<std::uint8_t>(); }) ==
              std::vector<std::uint8_t>{1, 2, 255});
        CHECK(elements("test.array_i64", [](gguf::value v) { return v.get<std::int64_t>(); }) ==
              std::vector<std::int64_t>{-1, std::int64_t{1} << 50});
        CHECK(elements("test.array_f32", [](gguf::value v) { return v.get<float>(); }) ==
              std::vector<float>{0.5f, -1.25f, 3.0f});
        CHECK(elements("test.array_bool", [](gguf::value v) { return v.get<bool>(); }) ==
              std::vector<bool>{true, false, true});
        CHECK(elements("tokenizer.ggml.tokens", [](gguf::value v) { return std::string(v.get<std::string_view>()); }) ==
              std::vector<std::string>{"<s>", "</s>", "hello", "w\xc3\xb6rld", ""});
        const gguf::value& nested = f.at("test.nested");
        CHECK(nested.element_type() == vt::array);
        CHECK(nested.size() == 3);
        std::vector<std::vector<std::int32_t>> ints;
        for (const gguf::value& inner : nested.elements()) {
            ints.emplace_back();
            for (const gguf::value& v : inner.elements()) ints.back().push_back(v.get<std::int32_t>());
        }
        CHECK(ints == std::vector<std::vector<std::int32_t>>{{1, 2, 3}, {4}, {5, 6}});
        std::vector<std::vector<std::string>> strings;
        for (const gguf::value& inner : f.at("test.nested_strings").elements()) {
            CHECK(inner.element_type() == vt::string);
            strings.emplace_back();
            for (const gguf::value& v : inner.elements()) strings.back().emplace_back(v.get<std::string_view>());
        }
        CHECK(strings == std::vector<std::vector<std::string>>{{"a", "bc"},
                                                               {"",
                                                                "d\xc3\xa9"
                                                                "f",
                                                                "g"}});
    }
    SECTION("clear errors") {
        REQUIRE_THROWS_WITH(
            f.get<std::uint64_t>("llama.context_length"),
            StartsWith("gguf: metadata 'llama.context_length' at offset ") && Contains("is uint32, not uint64"));
        REQUIRE_THROWS_WITH(f.get<std::uint32_t>("llama.context_len"), "gguf: no metadata key 'llama.context_len'");
        REQUIRE_THROWS_WITH(f.at("test.int8").get_unsigned(), Contains("is -100, not a count >= 0"));
        REQUIRE_THROWS_WITH(f.at("test.float32").get_unsigned(), Contains("is float32, not an integer"));
        REQUIRE_THROWS_WITH(f.at("test.string").elements(), Contains("is string, not an array"));
    }
}

TEST_CASE("gguf: the tensor table, as gguf reads it", "[gguf]") {
    const gguf::file f(data_path("tiny_llama.gguf"));
    struct row {
        const char* name;
        const char* type;
        std::array<std::uint64_t, 4> ne;
        std::uint32_t n_dims;
        std::uint64_t offset, bytes;
    };
    // gguf.GGUFReader's view of the file: name, type, shape, data offset, bytes.
    const row want[] = {{"token_embd.weight", "f16", {64, 23, 1, 1}, 2, 1728, 2944},
                        {"blk.0.attn_norm.weight", "f32", {64, 1, 1, 1}, 1, 4672, 256},
                        {"blk.0.attn_q.weight", "q4_0", {64, 21, 1, 1}, 2, 4928, 756},
                        {"blk.0.attn_k.weight", "q8_0", {64, 19, 1, 1}, 2, 5696, 1292},
                        {"blk.0.ffn_gate_exps.weight", "q8_0", {64, 3, 5, 1}, 3, 7008, 1020},
                        {"blk.0.ffn_up.weight", "q4_K", {256, 17, 1, 1}, 2, 8032, 2448},
                        {"blk.0.ffn_down.weight", "q6_K", {256, 17, 1, 1}, 2, 10496, 3570},
                        {"output.weight", "bf16", {64, 7, 1, 1}, 2, 14080, 896}};
    REQUIRE(f.tensors().size() == std::size(want));
    CHECK(f.data_offset() == 1728);
    for (std::size_t i = 0; i < std::size(want); ++i) {
        const gguf::tensor& t = f.tensors()[i];
        CAPTURE(i);
        CHECK(t.name == want[i].name);
        CHECK(std::string(t.type->name) == want[i].type);
        CHECK(t.ne == want[i].ne);
        CHECK(t.n_dims == want[i].n_dims);
        CHECK(t.offset == want[i].offset);
        CHECK(t.bytes == want[i].bytes);
        CHECK(t.data == f.data() + t.offset);
        CHECK(&f.get_tensor(t.name) == &t);
    }
    const gguf::tensor& experts = f.get_tensor("blk.0.ffn_gate_exps.weight");
    CHECK(experts.rows() == 15);  // 3 rows x 5 experts
    CHECK(experts.cols() == 64);
    CHECK(f.find_tensor("missing") == nullptr);
    REQUIRE_THROWS_WITH(f.get_tensor("missing"), "gguf: no tensor 'missing'");
}

TEST_CASE("gguf: every tensor's values are gguf's, bit for bit", "[gguf]") {
    const gguf::file mapped(data_path("tiny_llama.gguf"));
    require_gguf_values(mapped, read_floats("tiny_llama.dequant.f32"));

    SECTION("typed views and visit") {
        const gguf::tensor& q4 = mapped.get_tensor("blk.0.ffn_up.weight");
        const lowbit::const_qmatrix_view<lowbit::q4_K> view = q4.view<lowbit::q4_K>();
        CHECK(view.rows() == 17);
        CHECK(view.cols() == 256);
        CHECK(view.bytes() == q4.data);
        const bool got_q4_K = gguf::visit(
            q4, [](auto v) { return std::is_same<decltype(v), lowbit::const_qmatrix_view<lowbit::q4_K>>::value; });
        CHECK(got_q4_K);
        REQUIRE_THROWS_WITH(q4.view<lowbit::q4_0>(), "gguf: tensor 'blk.0.ffn_up.weight' is q4_K, not q4_0");
        REQUIRE_THROWS_WITH(q4.f32_view(), Contains("is q4_K, not f32"));
        const auto norm = mapped.get_tensor("blk.0.attn_norm.weight").f32_view();
        CHECK((norm.rows() == 1 && norm.cols() == 64));
        REQUIRE_THROWS_WITH(gguf::dequantize_row(q4, 17, nullptr), Contains("has 17 rows, not 18"));
    }
    SECTION("a caller's buffer: parsed in place, not copied") {
        const std::vector<unsigned char> bytes = read_bytes("tiny_llama.gguf");
        const gguf::file f(bytes.data(), bytes.size());
        CHECK(f.data() == bytes.data());
        CHECK(f.tensors()[3].data == bytes.data() + 5696);
        CHECK(f.get<std::string_view>("general.name").data() ==
              reinterpret_cast<const char*>(bytes.data()) + f.at("general.name").offset() + 8);
        require_gguf_values(f, read_floats("tiny_llama.dequant.f32"));
    }
    SECTION("a moved file keeps its views") {
        gguf::file f(data_path("tiny_llama.gguf"));
        const lowbit::const_qmatrix_view<lowbit::q6_K> before =
            f.get_tensor("blk.0.ffn_down.weight").view<lowbit::q6_K>();
        const gguf::file moved(std::move(f));
        CHECK(moved.get_tensor("blk.0.ffn_down.weight").view<lowbit::q6_K>().bytes() == before.bytes());
        require_gguf_values(moved, read_floats("tiny_llama.dequant.f32"));
    }
}

TEST_CASE("gguf: general.alignment is honoured", "[gguf]") {
    const gguf::file f(data_path("aligned_64.gguf"));
    CHECK(f.alignment() == 64);
    CHECK(f.data_offset() % 64 == 0);
    for (const gguf::tensor& t : f.tensors()) CHECK(t.offset % 64 == 0);
    require_gguf_values(f, read_floats("aligned_64.dequant.f32"));
}

TEST_CASE("gguf: every GGML type is listed with gguf's name and sizes", "[gguf]") {
    const gguf::file f(data_path("all_types.gguf"));
    REQUIRE(f.tensors().size() == 33);
    for (const gguf::tensor& t : f.tensors()) {
        // gen_gguf.py names each tensor "t.<gguf's name, lower case>", one row of one block of gguf's size
        std::string name = t.type->name;
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        CHECK(t.name == "t." + name);
        CHECK(t.elements() == t.type->block_size);
        CHECK(t.bytes == t.type->block_bytes);
        if (t.type->viewable) {
            std::vector<float> row(t.cols());
            gguf::dequantize_row(t, 0, row.data());
        } else {
            REQUIRE_THROWS_WITH(gguf::visit(t, [](auto) {}), "gguf: tensor '" + std::string(t.name) + "' is " +
                                                                 t.type->name + ", which lowbit has no view of");
        }
    }
    // The next tensor of each starts where gguf padded this one to (its own sizes, from GGML_QUANT_SIZES).
    REQUIRE(f.alignment() == 8);
    for (std::size_t i = 0; i + 1 < f.tensors().size(); ++i) {
        const gguf::tensor& t = f.tensors()[i];
        CHECK(f.tensors()[i + 1].offset == (t.offset + t.bytes + 7) / 8 * 8);
    }
}

TEST_CASE("gguf: every truncation of a valid file is refused", "[gguf][malformed]") {
    const std::vector<unsigned char> bytes = read_bytes("tiny_llama.gguf");
    // The last tensor ends at the end of the file, so every shorter prefix lacks something.
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        CAPTURE(size);
        const std::vector<unsigned char> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
        REQUIRE_THROWS_WITH(gguf::file(prefix.data(), prefix.size()), StartsWith("gguf: "));
    }
    REQUIRE_THROWS_WITH(gguf::file(bytes.data(), 2),
                        "gguf: header at offset 0: magic (4 bytes) runs past the end of the file (size 2)");
    REQUIRE_THROWS_WITH(gguf::file(bytes.data(), 14975),
                        "gguf: tensor 'output.weight' at offset 1654: data [1728 + 12352, +896) "
                        "lies outside the file (size 14975)");
    REQUIRE_THROWS_WITH(gguf::file(data_path("missing.gguf")),
                        StartsWith("gguf: cannot read '") && Contains("missing.gguf"));
}

TEST_CASE("gguf: any byte of the header and tables set to 0x00 or 0xFF is refused or read safely",
          "[gguf][malformed]") {
    const std::vector<unsigned char> valid = read_bytes("tiny_llama.gguf");
    std::vector<float> row(256);
    for (std::size_t i = 0; i < 1728; ++i) {
        for (unsigned char b : {0x00, 0xFF}) {
            std::vector<unsigned char> bytes = valid;
            bytes[i] = b;
            CAPTURE(i, b);
            try {
                const gguf::file f(bytes.data(), bytes.size());
                for (const gguf::tensor& t : f.tensors())
                    if (t.type->viewable && t.cols() <= row.size()) gguf::dequantize_row(t, t.rows() - 1, row.data());
            } catch (const lowbit::error& e) {
                REQUIRE_THAT(e.what(), StartsWith("gguf: "));
            }
        }
    }
}

TEST_CASE("gguf: malformed headers and metadata are refused, naming the field and offset", "[gguf][malformed]") {
    gguf_bytes b;
    SECTION("magic") {
        b.bytes = {'G', 'G', 'M', 'L', 3, 0, 0, 0};
        REQUIRE_THROWS_WITH(b.parse(), "gguf: header at offset 0: magic 'GGML' is not 'GGUF': not a GGUF file");
    }
    SECTION("version 1") {
        b.header(0, 0, 1);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: header at offset 4: version 1 is not supported (GGUF v1 has 32-bit counts "
                            "and lengths); only 2 and 3 are");
    }
    SECTION("versions 2 and 3 read, others are refused") {
        CHECK(gguf_bytes().header(0, 0, 2).parse().version() == 2);
        b.header(0, 0, 4);
        REQUIRE_THROWS_WITH(b.parse(), Contains("version 4 is not supported (only 2 and 3 are)"));
        REQUIRE_THROWS_WITH(gguf_bytes().header(0, 0, 0x03000000).parse(), Contains("a big-endian file?"));
    }
    SECTION("counts that cannot fit") {
        REQUIRE_THROWS_WITH(
            gguf_bytes().header(~std::uint64_t{0}, 0).parse(),
            "gguf: header at offset 8: tensor count 18446744073709551615 cannot fit in the 0 bytes that follow");
        REQUIRE_THROWS_WITH(gguf_bytes().header(0, std::uint64_t{1} << 62).parse(),
                            Contains("at offset 16: metadata count 4611686018427387904 cannot fit"));
        b.header(0, 2).key("k", vt::uint8).put<std::uint8_t>(1);  // 14 bytes: room for one entry, not two
        REQUIRE_THROWS_WITH(b.parse(), Contains("metadata count 2 cannot fit in the 14 bytes that follow"));
    }
    SECTION("a key longer than the file") {
        b.header(0, 1).u64(1000).u32(0).u32(0);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: metadata #0 at offset 32: key (1000 bytes) runs past the end of the file (size 40)");
    }
    SECTION("a string value longer than the file") {
        b.header(0, 1).key("general.name", vt::string).u64(~std::uint64_t{0} - 3);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: metadata 'general.name' at offset 56: string (18446744073709551612 bytes) runs "
                            "past the end of the file (size 56)");
    }
    SECTION("an unknown value type") {
        b.header(0, 1).str("k").u32(13).u64(0);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: metadata 'k' at offset 33: value type 13 is not a GGUF value type (0..12)");
        gguf_bytes c;
        c.header(0, 1).key("k", vt::array).u32(99).u64(0);
        REQUIRE_THROWS_WITH(c.parse(), Contains("array element type 99 is not a GGUF value type"));
    }
    SECTION("a scalar cut short") {
        b.header(0, 1).key("k", vt::float64).u32(0);
        REQUIRE_THROWS_WITH(
            b.parse(), "gguf: metadata 'k' at offset 37: float64 (8 bytes) runs past the end of the file (size 41)");
    }
    SECTION("arrays longer than the file") {
        b.header(0, 1).key("k", vt::array).u32(4).u64(std::uint64_t{1} << 62).u32(7);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: metadata 'k' at offset 41: array of 4611686018427387904 uint32 runs past the "
                            "end of the file (size 53)");
        gguf_bytes strings;
        strings.header(0, 1).key("tokens", vt::array).u32(8).u64(~std::uint64_t{0}).str("a").str("b");
        REQUIRE_THROWS_WITH(strings.parse(),
                            Contains("metadata 'tokens' at offset 72: string length (8 bytes) runs past the end"));
    }
    SECTION("arrays nested too deep") {
        auto nested = [](int depth) {
            gguf_bytes n;
            n.header(0, 1).key("k", vt::array);
            for (int d = 1; d < depth; ++d) n.u32(static_cast<std::uint32_t>(vt::array)).u64(1);
            n.u32(static_cast<std::uint32_t>(vt::uint8)).u64(1).put(std::uint8_t{7});
            return n;
        };
        const gguf::file eight = nested(8).parse();
        gguf::value v = eight.at("k");
        for (int d = 1; d < 8; ++d) v = *v.elements().begin();
        CHECK((*v.elements().begin()).get<std::uint8_t>() == 7);
        REQUIRE_THROWS_WITH(nested(9).parse(), "gguf: metadata 'k' at offset 133: arrays nested more than 8 deep");
    }
    SECTION("a bool that is not 0 or 1") {
        b.header(0, 1)
            .key("k", vt::array)
            .u32(static_cast<std::uint32_t>(vt::boolean))
            .u64(3)
            .put<std::uint8_t>(1)
            .put<std::uint8_t>(0)
            .put<std::uint8_t>(2);
        REQUIRE_THROWS_WITH(b.parse(), "gguf: metadata 'k' at offset 51: bool 2 is not 0 or 1");
    }
    SECTION("duplicate keys") {
        b.header(0, 2).key("k", vt::uint8).put<std::uint8_t>(1).key("k", vt::uint8).put<std::uint8_t>(2);
        REQUIRE_THROWS_WITH(b.parse(), "gguf: metadata 'k' at offset 51: duplicate key (also at offset 37)");
    }
    SECTION("general.alignment") {
        b.header(0, 1).key("general.alignment", vt::uint64).u64(64);
        REQUIRE_THROWS_WITH(b.parse(), "gguf: metadata 'general.alignment' at offset 53: is uint64, not uint32");
        for (std::uint32_t bad : {0u, 48u, 0x80000001u}) {
            gguf_bytes c;
            c.header(0, 1).key("general.alignment", vt::uint32).u32(bad);
            REQUIRE_THROWS_WITH(c.parse(), Contains(": " + std::to_string(bad) + " is not a power of two"));
        }
    }
}

TEST_CASE("gguf: malformed tensor infos are refused, naming the tensor and offset", "[gguf][malformed]") {
    gguf_bytes b;
    b.header(1, 0);
    SECTION("a name longer than the file") {
        b.u64(1 << 20);
        REQUIRE_THROWS_WITH(b.parse(), StartsWith("gguf: header at offset 8: tensor count 1 cannot fit"));
        b.bytes.resize(80);
        REQUIRE_THROWS_WITH(
            b.parse(), "gguf: tensor #0 at offset 32: name (1048576 bytes) runs past the end of the file (size 80)");
    }
    SECTION("n_dims") {
        for (std::uint32_t n_dims : {0u, 5u, 0xFFFFFFFFu}) {
            gguf_bytes c;
            c.header(1, 0).str("w").u32(n_dims).u64(32).u32(0).u64(0).data(128);
            REQUIRE_THROWS_WITH(c.parse(),
                                "gguf: tensor 'w' at offset 33: n_dims " + std::to_string(n_dims) + " is not in 1..4");
        }
    }
    SECTION("a zero dimension") {
        b.tensor_info("w", {32, 0}, 0, 0).data(128);
        REQUIRE_THROWS_WITH(b.parse(), "gguf: tensor 'w' at offset 45: ne[1] is 0");
    }
    SECTION("a shape of more than 2^63 elements") {
        b.tensor_info("w", {1u << 31, 1u << 31, 4}, 0, 0).data(128);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: tensor 'w' at offset 53: ne[2] = 4: the shape has more than 2^63 elements");
    }
    SECTION("a shape larger than the file") {
        b.tensor_info("w", {256, 1u << 31, 1u << 20}, ggml_q4_K, 0).data(128);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: tensor 'w' at offset 37: its 2251799813685248 q4_K blocks are larger than the file "
                            "(size 224)");
    }
    SECTION("unknown type ids") {
        for (std::uint32_t id : {4u, 31u, 42u, 0xFFFFFFFFu}) {
            gguf_bytes c;
            c.header(1, 0).tensor_info("w", {32}, id, 0).data(128);
            REQUIRE_THROWS_WITH(c.parse(),
                                "gguf: tensor 'w' at offset 45: type " + std::to_string(id) + " is not a GGML type");
        }
    }
    SECTION("a first dimension that is not whole blocks") {
        b.tensor_info("w", {100, 2}, ggml_q4_K, 0).data(512);
        REQUIRE_THROWS_WITH(
            b.parse(), "gguf: tensor 'w' at offset 37: ne[0] = 100 is not a multiple of q4_K's block of 256 values");
    }
    SECTION("a misaligned data offset") {
        b.tensor_info("w", {32}, 0, 8).data(256);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: tensor 'w' at offset 49: data offset 8 is not a multiple of the alignment 32");
    }
    SECTION("data outside the file") {
        b.tensor_info("w", {256, 2}, ggml_q4_K, 0).data(287);
        REQUIRE_THROWS_WITH(b.parse(),
                            "gguf: tensor 'w' at offset 24: data [96 + 0, +288) lies outside the file (size 383)");
        gguf_bytes far;
        far.header(1, 0).tensor_info("w", {32}, 0, ~std::uint64_t{0} - 31).data(256);
        REQUIRE_THROWS_WITH(far.parse(), Contains("data [64 + 18446744073709551584, +128) lies outside the file"));
    }
    SECTION("no data section at all") {
        b.tensor_info("w", {1}, 0, 0);
        REQUIRE_THROWS_WITH(b.parse(), Contains("data [64 + 0, +4) lies outside the file (size 57)"));
    }
    SECTION("duplicate names") {
        gguf_bytes c;
        c.header(2, 0).tensor_info("w", {8}, 0, 0).tensor_info("w", {8}, 0, 32).data(64);
        REQUIRE_THROWS_WITH(c.parse(), "gguf: tensor 'w' at offset 57: duplicate name (also at offset 24)");
    }
    SECTION("names with control bytes are printed escaped") {
        b.tensor_info(std::string("a\nb\0c", 5), {32}, 99, 0).data(128);
        REQUIRE_THROWS_WITH(b.parse(), StartsWith("gguf: tensor 'a\\x0ab\\x00c' at offset"));
    }
    SECTION("f32 data that is not 4-byte aligned in memory") {
        gguf_bytes c;
        c.header(1, 1).key("general.alignment", vt::uint32).u32(1).tensor_info("w", {2}, 0, 1).data(9, 1);
        const gguf::file f = c.parse();
        REQUIRE_THROWS_WITH(f.tensors()[0].f32_view(), Contains("its f32 data is not 4-byte aligned in memory"));
    }
}

namespace {

/// A file name under the system's temporary directory, removed when it goes out of scope.
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& name)
        : path((std::filesystem::temp_directory_path() / ("lowbit_test_" + std::to_string(::getpid()) + "_" + name))
                   .string()) {}
    ~temp_file() { std::remove(path.c_str()); }
    std::vector<unsigned char> bytes() const {
        std::ifstream in(path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
};

std::vector<std::uint64_t> shape_of(const gguf::tensor& t) { return {t.ne.begin(), t.ne.begin() + t.n_dims}; }

}  // namespace

TEST_CASE("gguf writer: a copy of each file gguf wrote is byte-identical", "[gguf][writer]") {
    for (const char* name : {"tiny_llama.gguf", "aligned_64.gguf", "all_types.gguf"}) {
        CAPTURE(name);
        const gguf::file in(data_path(name));
        gguf::writer out;
        out.copy_metadata(in);
        for (const gguf::tensor& t : in.tensors()) out.add_tensor(t.name, t.type->id, shape_of(t));
        const temp_file copy(name);
        out.write(copy.path, [&](std::size_t i, unsigned char* data) {
            REQUIRE(out.tensor_bytes(i) == in.tensors()[i].bytes);
            std::memcpy(data, in.tensors()[i].data, in.tensors()[i].bytes);
        });
        REQUIRE(copy.bytes() == read_bytes(name));
    }
}

TEST_CASE("gguf writer: values set here read back as set", "[gguf][writer]") {
    gguf::writer out;
    out.set("general.architecture", "llama");
    out.set("u8", std::uint8_t{200});
    out.set("i16", std::int16_t{-30000});
    out.set("u32", std::uint32_t{4000000000u});
    out.set("i64", -(std::int64_t{1} << 40));
    out.set("f32", 0.1f);
    out.set("f64", 0.1);
    out.set("yes", true);
    out.set_array("floats", std::vector<float>{1.5f, -2.0f});
    out.set_array("bools", std::vector<bool>{true, false, true});
    out.set_array("names", std::vector<std::string>{"a", "", "w\xc3\xb6rld"});
    out.set("u8", std::uint8_t{7});  // replaces, keeps the position
    out.set("general.alignment", std::uint32_t{64});
    const gguf::file nested(data_path("tiny_llama.gguf"));
    out.set("copied.nested", nested.at("test.nested"));
    CHECK(out.erase("i16"));
    CHECK_FALSE(out.erase("i16"));
    CHECK(out.contains("yes"));
    out.add_tensor("w", lowbit::q4_0::ggml_type, {64, 3});
    out.add_tensor("v", gguf::ggml_id::f32, {5});
    CHECK(out.tensor_bytes(0) == 6 * sizeof(lowbit::q4_0::block));
    CHECK(out.alignment() == 64);

    const temp_file path("values.gguf");
    out.write(path.path, [&](std::size_t i, unsigned char* data) {
        for (std::uint64_t b = 0; b < out.tensor_bytes(i); ++b) data[b] = static_cast<unsigned char>(i * 100 + b);
    });
    const std::vector<unsigned char> bytes = path.bytes();
    const gguf::file f(bytes.data(), bytes.size());
    CHECK(f.version() == 3);
    CHECK(f.alignment() == 64);
    CHECK(f.data_offset() % 64 == 0);
    CHECK(f.metadata()[1].key() == "u8");
    CHECK(f.get<std::uint8_t>("u8") == 7);
    CHECK(f.find("i16") == nullptr);
    CHECK(f.get<std::uint32_t>("u32") == 4000000000u);
    CHECK(f.get<std::int64_t>("i64") == -(std::int64_t{1} << 40));
    CHECK(f.get<float>("f32") == 0.1f);
    CHECK(f.get<double>("f64") == 0.1);
    CHECK(f.get<bool>("yes"));
    std::vector<float> floats;
    for (const gguf::value& v : f.at("floats").elements()) floats.push_back(v.get<float>());
    CHECK(floats == std::vector<float>{1.5f, -2.0f});
    std::vector<bool> bools;
    for (const gguf::value& v : f.at("bools").elements()) bools.push_back(v.get<bool>());
    CHECK(bools == std::vector<bool>{true, false, true});
    std::vector<std::string> names;
    for (const gguf::value& v : f.at("names").elements()) names.emplace_back(v.get<std::string_view>());
    CHECK(names == std::vector<std::string>{"a", "", "w\xc3\xb6rld"});
    CHECK(f.at("copied.nested").size() == nested.at("test.nested").size());
    REQUIRE(f.tensors().size() == 2);
    const gguf::tensor& w = f.get_tensor("w");
    CHECK(w.rows() == 3);
    CHECK(w.cols() == 64);
    CHECK(w.offset % 64 == 0);
    for (std::uint64_t b = 0; b < w.bytes; ++b) REQUIRE(w.data[b] == static_cast<unsigned char>(b));
    const gguf::tensor& v = f.get_tensor("v");
    CHECK(v.n_dims == 1);
    CHECK(v.offset % 64 == 0);
    CHECK(v.data[0] == 100);
    CHECK(bytes.size() == v.offset + 64);  // the last tensor padded too, as gguf writes it
}

TEST_CASE("gguf writer: what ggml could not read is refused when it is added", "[gguf][writer][malformed]") {
    gguf::writer out;
    CHECK_THROWS_WITH(out.add_tensor(std::string(64, 'x'), gguf::ggml_id::f32, {1}),
                      Contains("a name has 1 to 63 bytes, not 64"));
    CHECK_THROWS_WITH(out.add_tensor("", gguf::ggml_id::f32, {1}), Contains("not 0"));
    CHECK_THROWS_WITH(out.add_tensor("t", 12345, {256}), Contains("type 12345 is not a GGML type"));
    CHECK_THROWS_WITH(out.add_tensor("t", ggml_q4_K, {128, 2}), Contains("ne[0] = 128 is not a multiple of q4_K"));
    CHECK_THROWS_WITH(out.add_tensor("t", gguf::ggml_id::f32, {}), Contains("0 dimensions"));
    CHECK_THROWS_WITH(out.add_tensor("t", gguf::ggml_id::f32, {1, 2, 3, 4, 5}), Contains("5 dimensions"));
    CHECK_THROWS_WITH(out.add_tensor("t", gguf::ggml_id::f32, {4, 0}), Contains("is 0 or makes more than 2^63"));
    CHECK_THROWS_WITH(out.add_tensor("t", gguf::ggml_id::f32, {1ull << 32, 1ull << 32}),
                      Contains("more than 2^63 elements"));
    out.add_tensor("t", gguf::ggml_id::f32, {4});
    CHECK_THROWS_WITH(out.add_tensor("t", gguf::ggml_id::f32, {4}), Contains("'t': duplicate name"));
    out.set("general.alignment", std::uint32_t{48});
    CHECK_THROWS_WITH(out.header(), Contains("general.alignment must be a uint32 power of two, not 48"));
    out.set("general.alignment", std::uint64_t{64});
    CHECK_THROWS_WITH(out.header(), Contains("not uint64"));
    out.set("general.alignment", std::uint32_t{16});

    const temp_file path("fails.gguf");
    CHECK_THROWS_WITH(out.write(path.path, [](std::size_t, unsigned char*) { throw lowbit::error("fill failed"); }),
                      "fill failed");
    CHECK_THROWS_WITH(out.write("/nonexistent-dir/x.gguf", [](std::size_t, unsigned char*) {}),
                      Contains("cannot open '/nonexistent-dir/x.gguf' for writing"));
}
