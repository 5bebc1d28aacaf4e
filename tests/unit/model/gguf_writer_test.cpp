#include "model/gguf_writer.h"

#include <cstring>
#include <fstream>
#include <numeric>

#include <gtest/gtest.h>

#include "file_bytes.h"
#include "model/gguf_reader.h"
#include "temp_dir.h"

namespace llorch::model {
namespace {
using test::load;
using test::read_bytes;

// Fills every tensor with the bytes 0, 1, 2, ... so that tests can find them again.
void counting_filler(const gguf_tensor_info& t, gguf_data_sink& sink) {
    std::vector<uint8_t> bytes(t.n_bytes);
    std::iota(bytes.begin(), bytes.end(), static_cast<uint8_t>(t.name.size()));
    sink.write(std::span<const uint8_t>(bytes));
}

void must_succeed(const model_result<void>& r) { ASSERT_TRUE(r) << r.error().message; }

TEST(gguf_writer, writes_magic_version_and_counts) {
    test::temp_dir dir;
    gguf_writer w;
    must_succeed(w.set("general.architecture", gguf_value::str("llama")));
    must_succeed(w.set("general.name", gguf_value::str("x")));
    must_succeed(w.add_tensor("a.weight", {4}, tensor_type::f32));
    must_succeed(w.write(dir / "m.gguf", counting_filler));

    const auto bytes = read_bytes(dir / "m.gguf");
    ASSERT_GE(bytes.size(), 24u);
    EXPECT_EQ(std::memcmp(bytes.data(), "GGUF", 4), 0);
    EXPECT_EQ(load<uint32_t>(bytes, 4), 3u);
    EXPECT_EQ(load<uint64_t>(bytes, 8), 1u);   // tensors
    EXPECT_EQ(load<uint64_t>(bytes, 16), 2u);  // key/values
}

TEST(gguf_writer, encodes_a_key_value_and_tensor_info_as_the_spec_says) {
    test::temp_dir dir;
    gguf_writer w;
    must_succeed(w.set("k", gguf_value::u32(7)));
    must_succeed(w.add_tensor("t", {2, 3}, tensor_type::f16));
    must_succeed(w.write(dir / "m.gguf", counting_filler));

    const auto b = read_bytes(dir / "m.gguf");
    std::size_t at = 24;
    EXPECT_EQ(load<uint64_t>(b, at), 1u);  // key length
    EXPECT_EQ(b[at + 8], 'k');
    EXPECT_EQ(load<uint32_t>(b, at + 9), 4u);  // GGUF_TYPE_UINT32
    EXPECT_EQ(load<uint32_t>(b, at + 13), 7u);
    at += 17;
    EXPECT_EQ(load<uint64_t>(b, at), 1u);  // name length
    EXPECT_EQ(b[at + 8], 't');
    EXPECT_EQ(load<uint32_t>(b, at + 9), 2u);  // dims
    EXPECT_EQ(load<uint64_t>(b, at + 13), 2u);
    EXPECT_EQ(load<uint64_t>(b, at + 21), 3u);
    EXPECT_EQ(load<uint32_t>(b, at + 29), 1u);  // GGML_TYPE_F16
    EXPECT_EQ(load<uint64_t>(b, at + 33), 0u);  // offset
    EXPECT_EQ(at + 41, w.header_size());
    // Padding up to the data section, then the 12 bytes of data.
    ASSERT_EQ(w.data_offset(), 96u);
    for (std::size_t i = at + 41; i < 96; ++i) EXPECT_EQ(b[i], 0) << i;
    EXPECT_EQ(b[96], 1);
    EXPECT_EQ(b[107], 12);
}

TEST(gguf_writer, every_value_type_round_trips_through_the_reader) {
    test::temp_dir dir;
    std::vector<gguf_kv> kvs = {
        {"u8", gguf_value::u8(250)},
        {"i8", gguf_value::i8(-100)},
        {"u16", gguf_value::u16(65000)},
        {"i16", gguf_value::i16(-32000)},
        {"u32", gguf_value::u32(4000000000u)},
        {"i32", gguf_value::i32(-2000000000)},
        {"f32", gguf_value::f32(1.5f)},
        {"bool", gguf_value::boolean(true)},
        {"bool.false", gguf_value::boolean(false)},
        {"string", gguf_value::str("héllo")},
        {"string.empty", gguf_value::str("")},
        {"u64", gguf_value::u64(1ull << 60)},
        {"i64", gguf_value::i64(-(1ll << 60))},
        {"f64", gguf_value::f64(-2.25)},
        {"arr.u8", gguf_value::array(std::vector<uint8_t>{1, 2, 255})},
        {"arr.i8", gguf_value::array(std::vector<int8_t>{-1, 2})},
        {"arr.u16", gguf_value::array(std::vector<uint16_t>{1, 65535})},
        {"arr.i16", gguf_value::array(std::vector<int16_t>{-7})},
        {"arr.u32", gguf_value::array(std::vector<uint32_t>{1, 2, 3})},
        {"arr.i32", gguf_value::array(std::vector<int32_t>{-1, 0, 1})},
        {"arr.f32", gguf_value::array(std::vector<float>{0.25f, -8.0f})},
        {"arr.bool", gguf_value::array(std::vector<bool>{true, false, true})},
        {"arr.u64", gguf_value::array(std::vector<uint64_t>{1ull << 63})},
        {"arr.i64", gguf_value::array(std::vector<int64_t>{-5})},
        {"arr.f64", gguf_value::array(std::vector<double>{3.5})},
        {"arr.empty", gguf_value::array(std::vector<uint32_t>{})},
        {"arr.string", gguf_value::strings({"a", "", "<0x0A>", "▁the"})},
    };
    gguf_writer w;
    for (const auto& kv : kvs) must_succeed(w.set(kv.key, kv.value));
    must_succeed(w.write(dir / "m.gguf", counting_filler));

    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->kvs().size(), kvs.size());
    for (std::size_t i = 0; i < kvs.size(); ++i) {
        EXPECT_EQ(r->kvs()[i].key, kvs[i].key);
        EXPECT_TRUE(r->kvs()[i].value == kvs[i].value) << kvs[i].key;
        EXPECT_EQ(r->kvs()[i].value.type(), kvs[i].value.type()) << kvs[i].key;
    }
    EXPECT_EQ(r->find("i16")->get<int16_t>(), int16_t{-32000});
    EXPECT_EQ(r->find("u32")->get<int32_t>(), std::nullopt);  // exact type only
    EXPECT_EQ(r->find("arr.bool")->get_array<bool>(), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(r->find("arr.f32")->element_type(), gguf_type::f32);
    EXPECT_EQ(r->find("arr.string")->element_type(), gguf_type::string);
    EXPECT_EQ(r->find("arr.string")->array_size(), 4u);
    EXPECT_EQ(r->find("string")->get_string(), "héllo");
    EXPECT_EQ(r->file_size(), w.file_size());
}

TEST(gguf_writer, tensor_data_is_aligned_and_the_file_is_header_plus_data) {
    test::temp_dir dir;
    gguf_writer w;
    must_succeed(
        w.set("general.name", gguf_value::str("odd sizes")));    // header not a multiple of 32
    must_succeed(w.add_tensor("a", {3}, tensor_type::f32));      // 12 bytes
    must_succeed(w.add_tensor("bb", {5, 3}, tensor_type::f16));  // 30 bytes
    must_succeed(w.add_tensor("ccc", {40}, tensor_type::f32));   // 160 bytes
    must_succeed(w.write(dir / "m.gguf", counting_filler));

    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(w.header_size() % 32, 0u);
    EXPECT_EQ(r->data_offset() % 32, 0u);
    EXPECT_EQ(r->data_offset(), w.data_offset());
    ASSERT_EQ(r->tensors().size(), 3u);
    EXPECT_EQ(r->tensors()[0].offset, 0u);
    EXPECT_EQ(r->tensors()[1].offset, 32u);
    EXPECT_EQ(r->tensors()[2].offset, 64u);
    EXPECT_EQ(r->tensors()[1].n_bytes, 30u);
    EXPECT_EQ(r->tensor_bytes(), 12u + 30u + 160u);
    EXPECT_EQ(r->file_size(), r->data_offset() + 64 + 160);
    EXPECT_EQ(std::filesystem::file_size(dir / "m.gguf"), w.file_size());

    const auto bytes = read_bytes(dir / "m.gguf");
    for (const auto& t : r->tensors()) {
        const auto at = r->data_offset() + t.offset;
        EXPECT_EQ(bytes[at], t.name.size()) << t.name;
        EXPECT_EQ(bytes[at + t.n_bytes - 1], static_cast<uint8_t>(t.name.size() + t.n_bytes - 1));
    }
}

TEST(gguf_writer, general_alignment_sets_the_alignment) {
    test::temp_dir dir;
    gguf_writer w;
    must_succeed(w.add_tensor("a", {3}, tensor_type::f32));
    must_succeed(w.add_tensor("b", {3}, tensor_type::f32));
    must_succeed(w.set("general.alignment", gguf_value::u32(256)));
    EXPECT_EQ(w.tensors()[1].offset, 256u);
    must_succeed(w.write(dir / "m.gguf", counting_filler));

    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->alignment(), 256u);
    EXPECT_EQ(r->data_offset() % 256, 0u);
    EXPECT_EQ(r->tensors()[1].offset, 256u);
    EXPECT_EQ(r->file_size(), r->data_offset() + 512);
}

TEST(gguf_writer, rejects_an_alignment_that_is_not_a_u32_power_of_two) {
    gguf_writer w;
    EXPECT_FALSE(w.set("general.alignment", gguf_value::u32(48)));
    EXPECT_FALSE(w.set("general.alignment", gguf_value::u32(0)));
    EXPECT_FALSE(w.set("general.alignment", gguf_value::u64(64)));
    EXPECT_EQ(w.alignment(), 32u);
    EXPECT_TRUE(w.kvs().empty());
}

TEST(gguf_writer, rejects_tensors_llama_cpp_could_not_load) {
    gguf_writer w;
    must_succeed(w.add_tensor("a", {4}, tensor_type::f32));
    EXPECT_EQ(w.add_tensor("a", {4}, tensor_type::f32).error().code, model_errc::invalid_params);
    EXPECT_FALSE(w.add_tensor(std::string(64, 'x'), {4}, tensor_type::f32));
    EXPECT_TRUE(w.add_tensor(std::string(63, 'x'), {4}, tensor_type::f32));
    EXPECT_FALSE(w.add_tensor("five", {1, 1, 1, 1, 1}, tensor_type::f32));
    EXPECT_FALSE(w.add_tensor("none", {}, tensor_type::f32));
    EXPECT_FALSE(w.add_tensor("q", {33}, tensor_type::q4_0));  // not whole blocks of 32
    EXPECT_FALSE(w.add_tensor("huge", {1ull << 40, 1ull << 40}, tensor_type::f32));
    EXPECT_EQ(w.tensors().size(), 2u);
}

TEST(gguf_writer, setting_a_key_again_replaces_its_value_in_place) {
    gguf_writer w;
    must_succeed(w.set("a", gguf_value::u32(1)));
    must_succeed(w.set("b", gguf_value::u32(2)));
    must_succeed(w.set("a", gguf_value::str("again")));
    ASSERT_EQ(w.kvs().size(), 2u);
    EXPECT_EQ(w.kvs()[0].key, "a");
    EXPECT_EQ(w.kvs()[0].value.get_string(), "again");
}

TEST(gguf_writer, a_filler_giving_the_wrong_size_fails_and_leaves_no_file) {
    test::temp_dir dir;
    gguf_writer w;
    must_succeed(w.add_tensor("a", {8}, tensor_type::f32));
    auto short_filler = [](const gguf_tensor_info&, gguf_data_sink& sink) {
        const float x[3] = {};
        sink.write(x, sizeof(x));
    };
    auto r = w.write(dir / "m.gguf", short_filler);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, model_errc::invalid_params);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // neither the file nor a temporary
}

TEST(gguf_writer, fails_with_io_error_when_the_folder_is_missing) {
    test::temp_dir dir;
    gguf_writer w;
    auto r = w.write(dir / "missing" / "m.gguf", counting_filler);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, model_errc::io_error);
}

TEST(gguf_writer, replaces_a_file_without_disturbing_a_reader_of_the_old_one) {
    test::temp_dir dir;
    const auto path = dir / "m.gguf";
    gguf_writer first;
    must_succeed(first.set("version", gguf_value::str("old")));
    must_succeed(first.write(path, counting_filler));
    const auto old_bytes = read_bytes(path);

    std::ifstream engine(path, std::ios::binary);  // opened before the rewrite
    gguf_writer second;
    must_succeed(second.set("version", gguf_value::str("new!")));
    must_succeed(second.write(path, counting_filler));

    std::vector<uint8_t> seen(old_bytes.size());
    engine.read(reinterpret_cast<char*>(seen.data()), static_cast<std::streamsize>(seen.size()));
    EXPECT_EQ(seen, old_bytes);
    auto r = gguf_reader::open(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->find("version")->get_string(), "new!");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                            std::filesystem::directory_iterator()),
              1);
}

TEST(gguf_writer, reports_progress_up_to_the_total) {
    test::temp_dir dir;
    gguf_writer w;
    must_succeed(w.add_tensor("a", {1000}, tensor_type::f32));
    uint64_t last = 0;
    uint64_t total = 0;
    must_succeed(w.write(dir / "m.gguf", counting_filler, [&](uint64_t done, uint64_t all) {
        EXPECT_GE(done, last);
        last = done;
        total = all;
    }));
    EXPECT_EQ(total, w.data_size());
    EXPECT_EQ(last, w.data_size());
}

}  // namespace
}  // namespace llorch::model
