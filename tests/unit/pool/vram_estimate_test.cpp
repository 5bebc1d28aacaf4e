#include "pool/vram_estimate.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include "model/gguf_writer.h"

namespace llorch::pool {
namespace {

std::filesystem::path write_model(uint32_t layers, uint32_t embd, uint32_t heads,
                                  uint32_t kv_heads) {
    auto p = std::filesystem::temp_directory_path() /
             ("vram-" + std::to_string(::getpid()) + "-" + std::to_string(layers) + "-" +
              std::to_string(kv_heads) + ".gguf");
    model::gguf_writer w;
    using v = model::gguf_value;
    EXPECT_TRUE(w.set("general.architecture", v::str("llama")));
    EXPECT_TRUE(w.set("llama.block_count", v::u32(layers)));
    EXPECT_TRUE(w.set("llama.embedding_length", v::u32(embd)));
    EXPECT_TRUE(w.set("llama.attention.head_count", v::u32(heads)));
    EXPECT_TRUE(w.set("llama.attention.head_count_kv", v::u32(kv_heads)));
    EXPECT_TRUE(w.set("llama.context_length", v::u32(4096)));
    EXPECT_TRUE(w.add_tensor("token_embd.weight", {embd, 1000}, model::tensor_type::f32));
    auto r = w.write(p, [](const model::gguf_tensor_info& info, model::gguf_data_sink& sink) {
        std::vector<char> zeros(info.n_bytes, 0);
        sink.write(zeros.data(), zeros.size());
    });
    EXPECT_TRUE(r);
    return p;
}

TEST(vram_estimate, weights_come_from_the_tensors_and_kv_from_layers_heads_and_context) {
    auto p = write_model(2, 64, 4, 4);
    auto n = estimate_vram(p, 1024, 4);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(n->weights_bytes, 64u * 1000 * 4);
    // 2 (K,V) x 2 layers x 4096 tokens x 4 kv heads x 16 dims x 2 bytes
    EXPECT_EQ(n->kv_bytes, 2ull * 2 * 4096 * 4 * 16 * 2);
    EXPECT_EQ(n->total(), n->weights_bytes + n->kv_bytes + n->compute_bytes + engine_allowance);
    std::filesystem::remove(p);
}

TEST(vram_estimate, grouped_query_attention_needs_less_kv_cache) {
    auto full = write_model(4, 128, 8, 8);
    auto gqa = write_model(4, 128, 8, 2);
    auto a = estimate_vram(full, 2048, 2);
    auto b = estimate_vram(gqa, 2048, 2);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->kv_bytes, 4 * b->kv_bytes);
    std::filesystem::remove(full);
    std::filesystem::remove(gqa);
}

TEST(vram_estimate, a_missing_or_foreign_file_is_an_error_that_names_it) {
    auto n = estimate_vram("/nonexistent/model.gguf", 512, 1);
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace llorch::pool
