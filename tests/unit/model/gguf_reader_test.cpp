#include "model/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <gtest/gtest.h>

#include "file_bytes.h"
#include "model/gguf_writer.h"
#include "temp_dir.h"

namespace llorch::model {
namespace {
using test::read_bytes;
using test::store;
using test::write_bytes;

void zero_filler(const gguf_tensor_info& t, gguf_data_sink& sink) {
    std::vector<uint8_t> bytes(t.n_bytes, 0);
    sink.write(std::span<const uint8_t>(bytes));
}

void must(const model_result<void>& r) { ASSERT_TRUE(r) << r.error().message; }

// A small llama-like file: the hyper-parameter keys and a few tensors.
gguf_writer llama_like() {
    gguf_writer w;
    EXPECT_TRUE(w.set("general.architecture", gguf_value::str("llama")));
    EXPECT_TRUE(w.set("llama.block_count", gguf_value::u32(3)));
    EXPECT_TRUE(w.set("llama.embedding_length", gguf_value::u32(128)));
    EXPECT_TRUE(w.set("llama.attention.head_count", gguf_value::u32(8)));
    EXPECT_TRUE(w.set("llama.attention.head_count_kv", gguf_value::u32(2)));
    EXPECT_TRUE(w.set("llama.context_length", gguf_value::u32(2048)));
    EXPECT_TRUE(w.set("llama.feed_forward_length", gguf_value::u32(512)));
    EXPECT_TRUE(w.set("tokenizer.ggml.tokens", gguf_value::strings({"a", "b", "c"})));
    EXPECT_TRUE(w.add_tensor("token_embd.weight", {128, 3}, tensor_type::f16));
    EXPECT_TRUE(w.add_tensor("blk.0.attn_q.weight", {128, 128}, tensor_type::q4_0));
    EXPECT_TRUE(w.add_tensor("output_norm.weight", {128}, tensor_type::f32));
    return w;
}

std::size_t find_text(const std::vector<uint8_t>& bytes, std::string_view text) {
    auto it = std::search(bytes.begin(), bytes.end(), text.begin(), text.end());
    return static_cast<std::size_t>(it - bytes.begin());
}

TEST(gguf_reader, reads_tensor_infos_and_sums_their_bytes) {
    test::temp_dir dir;
    must(llama_like().write(dir / "m.gguf", zero_filler));
    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->version(), 3u);
    ASSERT_EQ(r->tensors().size(), 3u);
    const auto* q = r->find_tensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->type, tensor_type::q4_0);
    EXPECT_EQ(q->dims, (std::vector<uint64_t>{128, 128}));
    EXPECT_EQ(q->n_bytes, 128u / 32 * 18 * 128);
    EXPECT_EQ(r->tensor_bytes(), 128u * 3 * 2 + 128 / 32 * 18 * 128 + 128 * 4);
    EXPECT_EQ(r->find_tensor("missing"), nullptr);
}

TEST(gguf_reader, exposes_the_hyper_parameters_of_the_architecture) {
    test::temp_dir dir;
    must(llama_like().write(dir / "m.gguf", zero_filler));
    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r);
    auto h = r->hparams();
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(h->architecture, "llama");
    EXPECT_EQ(h->block_count, 3u);
    EXPECT_EQ(h->embedding_length, 128u);
    EXPECT_EQ(h->head_count, 8u);
    EXPECT_EQ(h->head_count_kv, 2u);
    EXPECT_EQ(h->context_length, 2048u);
    EXPECT_EQ(h->feed_forward_length, 512u);
    EXPECT_EQ(h->vocab_size, 3u);  // from the token list
}

TEST(gguf_reader, head_count_kv_defaults_to_head_count_and_other_keys_are_required) {
    test::temp_dir dir;
    auto w = llama_like();
    must(w.set("llama.attention.head_count_kv", gguf_value::str("not a number")));
    must(w.set("llama.block_count", gguf_value::i32(3)));  // another integer type is fine
    must(w.write(dir / "a.gguf", zero_filler));
    auto h = gguf_reader::open(dir / "a.gguf")->hparams();
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(h->head_count_kv, 8u);
    EXPECT_EQ(h->block_count, 3u);

    gguf_writer bare;
    must(bare.set("general.architecture", gguf_value::str("llama")));
    must(bare.set("llama.block_count", gguf_value::u32(3)));
    must(bare.write(dir / "b.gguf", zero_filler));
    auto missing = gguf_reader::open(dir / "b.gguf")->hparams();
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, model_errc::missing_key);
    EXPECT_NE(missing.error().message.find("llama.embedding_length"), std::string::npos);
}

TEST(gguf_reader, takes_the_largest_of_per_layer_head_counts) {
    test::temp_dir dir;
    auto w = llama_like();
    must(w.set("llama.attention.head_count_kv", gguf_value::array(std::vector<int32_t>{0, 4, 2})));
    must(w.write(dir / "m.gguf", zero_filler));
    auto h = gguf_reader::open(dir / "m.gguf")->hparams();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->head_count_kv, 4u);
}

TEST(gguf_reader, rejects_what_is_not_gguf) {
    test::temp_dir dir;
    write_bytes(dir / "x.gguf", {'G', 'G', 'M', 'L', 3, 0, 0, 0});
    auto r = gguf_reader::open(dir / "x.gguf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, model_errc::bad_format);
    EXPECT_NE(r.error().message.find("x.gguf"), std::string::npos);

    auto missing = gguf_reader::open(dir / "missing.gguf");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, model_errc::io_error);
}

TEST(gguf_reader, rejects_version_1) {
    test::temp_dir dir;
    must(llama_like().write(dir / "m.gguf", zero_filler));
    auto bytes = read_bytes(dir / "m.gguf");
    store<uint32_t>(bytes, 4, 1);
    write_bytes(dir / "m.gguf", bytes);
    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, model_errc::unsupported);
}

TEST(gguf_reader, fails_cleanly_on_every_truncation) {
    test::temp_dir dir;
    must(llama_like().write(dir / "m.gguf", zero_filler));
    const auto bytes = read_bytes(dir / "m.gguf");
    for (std::size_t n = 0; n < bytes.size(); n += 7) {
        write_bytes(dir / "t.gguf", std::vector<uint8_t>(bytes.begin(), bytes.begin() + n));
        auto r = gguf_reader::open(dir / "t.gguf");
        ASSERT_FALSE(r) << "truncated at " << n;
        EXPECT_EQ(r.error().code, model_errc::bad_format) << "truncated at " << n;
    }
}

TEST(gguf_reader, rejects_lengths_larger_than_the_file_without_allocating_them) {
    test::temp_dir dir;
    gguf_writer w;
    must(w.set("k", gguf_value::strings({"a"})));
    must(w.write(dir / "m.gguf", zero_filler));
    auto bytes = read_bytes(dir / "m.gguf");
    // Array of strings: after "k" (8 + 1) and the types (4 + 4) comes the element count.
    store<uint64_t>(bytes, 24 + 9 + 8, ~0ull);
    write_bytes(dir / "m.gguf", bytes);
    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, model_errc::bad_format);

    store<uint64_t>(bytes, 24 + 9 + 8, 1);
    store<uint64_t>(bytes, 24 + 9 + 16, 1ull << 62);  // the string's length
    write_bytes(dir / "m.gguf", bytes);
    EXPECT_FALSE(gguf_reader::open(dir / "m.gguf"));
}

TEST(gguf_reader, rejects_duplicate_keys_and_tensors_beyond_the_end) {
    test::temp_dir dir;
    gguf_writer w;
    must(w.set("aa", gguf_value::u8(1)));
    must(w.set("ab", gguf_value::u8(2)));
    must(w.add_tensor("t", {8}, tensor_type::f32));
    must(w.write(dir / "m.gguf", zero_filler));
    const auto good = read_bytes(dir / "m.gguf");

    auto dup = good;
    dup[find_text(dup, "ab") + 1] = 'a';
    write_bytes(dir / "dup.gguf", dup);
    EXPECT_FALSE(gguf_reader::open(dir / "dup.gguf"));

    auto beyond = good;
    beyond.resize(beyond.size() - 1);  // the last tensor's padding and data end past the file
    write_bytes(dir / "beyond.gguf", beyond);
    auto r = gguf_reader::open(dir / "beyond.gguf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, model_errc::bad_format);
}

TEST(gguf_reader, sizes_a_tensor_of_an_unknown_type_by_the_gap_to_the_next) {
    test::temp_dir dir;
    gguf_writer w;
    must(w.add_tensor("first", {10}, tensor_type::f32));
    must(w.add_tensor("second", {10}, tensor_type::f32));
    must(w.write(dir / "m.gguf", zero_filler));
    auto bytes = read_bytes(dir / "m.gguf");
    // name length (8) + name + n_dims (4) + one dim (8), then the type.
    const auto type_at = find_text(bytes, "first") + 5 + 4 + 8;
    store<uint32_t>(bytes, type_at, 99);
    write_bytes(dir / "m.gguf", bytes);
    auto r = gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->find_tensor("first")->n_bytes, 64u);  // up to "second" at offset 64
    EXPECT_EQ(r->find_tensor("second")->n_bytes, 40u);
}

}  // namespace
}  // namespace llorch::model
