#include "catalog/node_catalog.h"

#include <gtest/gtest.h>

#include "model/gguf_writer.h"
#include "temp_dir.h"

namespace llorch::catalog {
namespace {

catalog_entry entry(std::string name, std::string path) {
    catalog_entry e;
    e.name = *parse_model_name(name);
    e.path = std::move(path);
    return e;
}

TEST(model_name, a_bare_name_is_its_latest_tag) {
    auto n = parse_model_name("tiny");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->full(), "tiny:latest");
    EXPECT_EQ(n->display(), "tiny");
    EXPECT_EQ(n->file_name(), "tiny.gguf");
    auto t = parse_model_name("llama-3.2:q4_K_M");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->name, "llama-3.2");
    EXPECT_EQ(t->tag, "q4_K_M");
    EXPECT_EQ(t->file_name(), "llama-3.2:q4_K_M.gguf");
    EXPECT_EQ(name_of_file(t->file_name())->full(), "llama-3.2:q4_K_M");
}

TEST(model_name, names_that_could_leave_the_models_folder_are_refused) {
    for (const char* bad : {"", "../x", "a/b", ".hidden", "-x", "a:", "a:b:c", "a b", "x:.t"}) {
        auto n = parse_model_name(bad);
        ASSERT_FALSE(n) << bad;
        EXPECT_EQ(n.error().code, catalog_errc::invalid_name) << bad;
    }
    EXPECT_FALSE(parse_model_name(std::string(129, 'a')));
    EXPECT_FALSE(name_of_file("tiny.bin"));
    EXPECT_FALSE(name_of_file(".gguf"));
}

TEST(node_catalog, looks_up_by_name_with_latest_resolution) {
    node_catalog c;
    ASSERT_TRUE(c.add(entry("tiny", "/m/tiny.gguf")));
    ASSERT_TRUE(c.add(entry("tiny:q4", "/m/tiny:q4.gguf")));
    ASSERT_NE(c.find("tiny"), nullptr);
    EXPECT_EQ(c.find("tiny")->path, "/m/tiny.gguf");
    EXPECT_EQ(c.find("tiny:latest")->path, "/m/tiny.gguf");
    EXPECT_EQ(c.find("tiny:q4")->path, "/m/tiny:q4.gguf");
    EXPECT_EQ(c.find("tiny:q8"), nullptr);
    EXPECT_EQ(c.find("../etc"), nullptr);
    EXPECT_EQ(c.find_path("/m/tiny:q4.gguf")->name.tag, "q4");
    auto all = c.entries();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name.full(), "tiny:latest");
}

TEST(node_catalog, a_name_belongs_to_one_file_and_every_change_moves_the_version) {
    node_catalog c;
    EXPECT_EQ(c.version(), 0u);
    ASSERT_TRUE(c.add(entry("tiny", "/m/tiny.gguf")));
    EXPECT_EQ(c.version(), 1u);
    auto other = c.add(entry("tiny", "/elsewhere/tiny.gguf"));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, catalog_errc::duplicate);
    EXPECT_EQ(c.version(), 1u);
    auto rehashed = entry("tiny", "/m/tiny.gguf");
    rehashed.sha256 = std::string(64, 'a');
    ASSERT_TRUE(c.add(rehashed));  // the same file again replaces its entry
    EXPECT_EQ(c.find("tiny")->sha256, rehashed.sha256);
    EXPECT_EQ(c.version(), 2u);
    auto gone = c.remove("tiny:latest");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->path, "/m/tiny.gguf");
    EXPECT_EQ(c.version(), 3u);
    auto again = c.remove("tiny");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, catalog_errc::not_found);
}

TEST(gguf_summary, reads_architecture_shape_quantization_and_template) {
    model::test::temp_dir dir;
    model::gguf_writer w;
    using model::gguf_value;
    ASSERT_TRUE(w.set("general.architecture", gguf_value::str("llama")));
    ASSERT_TRUE(w.set("general.file_type", gguf_value::u32(15)));
    ASSERT_TRUE(w.set("llama.block_count", gguf_value::u32(3)));
    ASSERT_TRUE(w.set("llama.embedding_length", gguf_value::u32(64)));
    ASSERT_TRUE(w.set("llama.attention.head_count", gguf_value::u32(8)));
    ASSERT_TRUE(w.set("llama.attention.head_count_kv", gguf_value::u32(2)));
    ASSERT_TRUE(w.set("llama.context_length", gguf_value::u32(2048)));
    ASSERT_TRUE(w.set("tokenizer.chat_template", gguf_value::str("{{ messages }}")));
    ASSERT_TRUE(w.add_tensor("token_embd.weight", {64, 10}, model::tensor_type::f16));
    ASSERT_TRUE(w.add_tensor("output_norm.weight", {64}, model::tensor_type::f32));
    auto zero = [](const model::gguf_tensor_info& t, model::gguf_data_sink& sink) {
        std::vector<uint8_t> bytes(t.n_bytes, 0);
        sink.write(std::span<const uint8_t>(bytes));
    };
    ASSERT_TRUE(w.write(dir / "m.gguf", zero));
    auto r = model::gguf_reader::open(dir / "m.gguf");
    ASSERT_TRUE(r);
    auto s = summarize(*r);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->architecture, "llama");
    EXPECT_EQ(s->parameter_count, 64u * 10 + 64);
    EXPECT_EQ(s->file_type, 15);
    EXPECT_EQ(s->quantization, "Q4_K_M");
    EXPECT_EQ(s->block_count, 3u);
    EXPECT_EQ(s->head_count, 8u);
    EXPECT_EQ(s->head_count_kv, 2u);
    EXPECT_EQ(s->context_length, 2048u);
    EXPECT_EQ(s->embedding_length, 64u);
    EXPECT_TRUE(s->chat_template);

    // Without general.file_type, the type holding most bytes names the quantization.
    ASSERT_TRUE(w.set("general.file_type", gguf_value::str("unknown")));
    ASSERT_TRUE(w.write(dir / "n.gguf", zero));
    auto n = summarize(*model::gguf_reader::open(dir / "n.gguf"));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->file_type, -1);
    EXPECT_EQ(n->quantization, "F16");
}

TEST(gguf_summary, a_file_without_the_model_keys_is_a_bad_model) {
    model::test::temp_dir dir;
    model::gguf_writer w;
    ASSERT_TRUE(w.set("general.architecture", model::gguf_value::str("llama")));
    ASSERT_TRUE(w.write(dir / "m.gguf", [](const auto&, auto&) {}));
    auto s = summarize(*model::gguf_reader::open(dir / "m.gguf"));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, catalog_errc::bad_model);
}

}  // namespace
}  // namespace llorch::catalog
