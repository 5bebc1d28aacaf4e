#include "pool/vram_estimate.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include "model/gguf_writer.h"
#include "model/tiny_model.h"
#include "support/memory_bound.h"

namespace llorch::pool {
namespace {
using test::check_memory_bound;
using test::reported_memory;

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
    EXPECT_TRUE(w.set("llama.vocab_size", v::u32(1000)));
    EXPECT_TRUE(w.add_tensor("token_embd.weight", {embd, 1000}, model::tensor_type::f32));
    EXPECT_TRUE(w.add_tensor("output_norm.weight", {embd}, model::tensor_type::f32));
    auto r = w.write(p, [](const model::gguf_tensor_info& info, model::gguf_data_sink& sink) {
        std::vector<char> zeros(info.n_bytes, 0);
        sink.write(zeros.data(), zeros.size());
    });
    EXPECT_TRUE(r);
    return p;
}

TEST(vram_estimate, weights_are_the_tensor_data_span_and_kv_comes_from_layers_heads_and_cells) {
    auto p = write_model(2, 64, 4, 4);
    auto n = estimate_vram(p, 1024, 4);
    ASSERT_TRUE(n) << n.error().message;
    // The output norm starts at the next 32-byte boundary after the embeddings.
    EXPECT_EQ(n->weights_bytes, 64u * 1000 * 4 + 64 * 4);
    // 2 layers x 4096 cells x 4 kv heads x (16 + 16) dims x 2 bytes
    EXPECT_EQ(n->kv_bytes, 2ull * 4096 * 4 * 32 * 2);
    EXPECT_EQ(n->overhead_bytes, engine_allowance);
    EXPECT_GT(n->compute_bytes, 0u);
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

model_shape llama(uint64_t layers, uint64_t width, uint64_t heads, uint64_t kv_heads, uint64_t ffn,
                  uint64_t vocab = 32002) {
    return {.weights_bytes = 0,
            .layers = layers,
            .width = width,
            .heads = heads,
            .kv_heads = kv_heads,
            .head_dim_k = width / heads,
            .head_dim_v = width / heads,
            .ffn = ffn,
            .vocab = vocab,
            .train_ctx = 4096};
}

TEST(vram_estimate, cells_are_rounded_as_llama_server_rounds_them) {
    const auto m = llama(2, 64, 4, 4, 256);
    // -c 300 -np 1: 512 cells, and the micro-batch capped by the context asked for.
    auto k = engine_kv_layout(m, 300, 1, {});
    EXPECT_EQ(k.cells, 512u);
    EXPECT_EQ(k.streams, 1u);
    EXPECT_EQ(k.ubatch, 300u);
    // -c 3000 -np 3: 3072 in all, 1024 per sequence.
    k = engine_kv_layout(m, 1000, 3, {});
    EXPECT_EQ(k.cells, 1024u);
    EXPECT_EQ(k.streams, 3u);
    EXPECT_EQ(k.n_ctx, 3072u);
    EXPECT_EQ(k.ubatch, 512u);
    // -c 1100 -np 2: 1280 in all, 640 per sequence rounds up to 768 (1536 cells).
    k = engine_kv_layout(m, 550, 2, {});
    EXPECT_EQ(k.cells, 768u);
    EXPECT_EQ(k.n_ctx, 1536u);
    // A unified cache is one stream of every cell.
    k = engine_kv_layout(m, 1000, 3, {.kv_unified = true});
    EXPECT_EQ(k.cells, 3072u);
    EXPECT_EQ(k.streams, 1u);
    // -c 0: the model's training context.
    k = engine_kv_layout(m, 0, 2, {});
    EXPECT_EQ(k.n_ctx, 4096u);
    EXPECT_EQ(k.cells, 2048u);
}

TEST(vram_estimate, compute_grows_with_the_micro_batch_the_context_and_the_feed_forward_width) {
    const auto base = estimate_vram(llama(8, 512, 8, 8, 1376), 2048, 2).compute_bytes;
    EXPECT_GT(estimate_vram(llama(8, 512, 8, 8, 1376), 2048, 2, {.ubatch = 2048}).compute_bytes,
              3 * base);
    EXPECT_GT(estimate_vram(llama(8, 512, 8, 8, 1376), 32768, 2).compute_bytes, base + (14 << 20));
    EXPECT_GT(estimate_vram(llama(8, 512, 8, 8, 5504), 2048, 2).compute_bytes, 2 * base);
    // An embeddings pool computes the logits of every token of the micro-batch.
    const auto embeddings =
        estimate_vram(llama(8, 512, 8, 8, 1376), 2048, 2, {.embeddings = true}).compute_bytes;
    EXPECT_GT(embeddings, 32002ull * 512 * 4);
    EXPECT_GT(embeddings, 3 * base);
    // More slots: more logits, no more activations.
    const auto four = estimate_vram(llama(8, 512, 8, 8, 1376), 2048, 4).compute_bytes;
    EXPECT_GT(four, base);
    EXPECT_LT(four, base + (1 << 20));
}

// What llama-server (llama.cpp de3ff81, the CPU build `make setup` makes) reported loading
// models generated by `llorch model make-tiny`, launched as the launcher launches it (-np slots
// -c ctx×slots, default batch 2048 / micro-batch 512, flash attention auto = on, KV cache not
// unified), with -lv 4; "emb" rows as an embeddings pool, "ub" rows with -b and -ub set. The live
// check (tests/integration/vram_calibration_test.cpp, LLORCH_MEMORY_TABLE=1 for every row) measures
// them again against the engine in use.
struct calibration_row {
    const char* shape;
    model::tiny_model_params params;
    int ctx;
    int slots;
    reported_memory engine;   // MiB: model, KV, output, compute buffers
    bool embeddings = false;  // an embeddings pool: --embeddings --pooling mean
    int ubatch = 0;           // -b N -ub N in extra_args; 0: the defaults
};

using namespace test::shapes;

const calibration_row calibration[] = {
    {"tiny", tiny, 512, 1, {8.31, 0.25, 0.12, 2.51}, false, 0},
    {"tiny", tiny, 4096, 2, {8.31, 4.00, 0.24, 6.01}, false, 0},
    {"tiny", tiny, 1000, 3, {8.31, 1.50, 0.37, 3.02}, false, 0},
    {"tiny", tiny, 300, 1, {8.31, 0.25, 0.12, 1.47}, false, 0},
    {"tiny", tiny, 2048, 4, {8.31, 4.00, 0.49, 4.01}, false, 0},
    {"tiny", tiny, 4096, 2, {8.31, 4.00, 0.24, 66.65}, true, 0},
    {"tiny", tiny, 1024, 2, {8.31, 1.00, 0.24, 12.05}, false, 2048},
    {"gqa-f16", gqa_f16, 512, 1, {21.01, 0.50, 0.12, 6.64}, false, 0},
    {"gqa-f16", gqa_f16, 4096, 2, {21.01, 8.00, 0.24, 10.14}, false, 0},
    {"gqa-f16", gqa_f16, 1000, 3, {21.01, 3.00, 0.37, 7.15}, false, 0},
    {"gqa-f16", gqa_f16, 300, 1, {21.01, 0.50, 0.12, 3.89}, false, 0},
    {"gqa-f16", gqa_f16, 2048, 4, {21.01, 8.00, 0.49, 8.14}, false, 0},
    {"gqa-f16", gqa_f16, 4096, 2, {21.01, 8.00, 0.25, 67.02}, true, 0},
    {"gqa-f16", gqa_f16, 1024, 2, {21.01, 2.00, 0.24, 28.55}, false, 2048},
    {"wide-f32", wide_f32, 512, 1, {159.04, 8.00, 0.12, 12.57}, false, 0},
    {"wide-f32", wide_f32, 4096, 2, {159.04, 128.00, 0.24, 16.07}, false, 0},
    {"wide-f32", wide_f32, 1000, 3, {159.04, 48.00, 0.37, 13.10}, false, 0},
    {"wide-f32", wide_f32, 300, 1, {159.04, 8.00, 0.12, 7.37}, false, 0},
    {"wide-f32", wide_f32, 2048, 4, {159.04, 128.00, 0.49, 14.07}, false, 0},
    {"wide-f32", wide_f32, 4096, 2, {159.04, 128.00, 0.25, 67.52}, true, 0},
    {"wide-f32", wide_f32, 1024, 2, {159.04, 32.00, 0.24, 52.30}, false, 2048},
    {"vocab-128k", vocab_128k, 512, 1, {131.75, 1.00, 0.49, 7.01}, false, 0},
    {"vocab-128k", vocab_128k, 4096, 2, {131.75, 16.00, 0.98, 10.51}, false, 0},
    {"vocab-128k", vocab_128k, 1000, 3, {131.75, 6.00, 1.47, 7.53}, false, 0},
    {"vocab-128k", vocab_128k, 300, 1, {131.75, 1.00, 0.49, 4.11}, false, 0},
    {"vocab-128k", vocab_128k, 2048, 4, {131.75, 16.00, 1.96, 8.51}, false, 0},
    {"vocab-128k", vocab_128k, 4096, 2, {131.75, 16.00, 0.98, 255.02}, true, 0},
    {"vocab-128k", vocab_128k, 1024, 2, {131.75, 4.00, 0.98, 30.05}, false, 2048},
    {"narrow-ffn", narrow_ffn, 512, 1, {90.52, 4.00, 0.12, 12.51}, false, 0},
    {"narrow-ffn", narrow_ffn, 4096, 2, {90.52, 64.00, 0.24, 16.01}, false, 0},
    {"narrow-ffn", narrow_ffn, 1000, 3, {90.52, 24.00, 0.37, 13.04}, false, 0},
    {"narrow-ffn", narrow_ffn, 300, 1, {90.52, 4.00, 0.12, 7.33}, false, 0},
    {"narrow-ffn", narrow_ffn, 2048, 4, {90.52, 64.00, 0.49, 14.01}, false, 0},
    {"narrow-ffn", narrow_ffn, 4096, 2, {90.52, 64.00, 0.25, 70.52}, true, 0},
    {"narrow-ffn", narrow_ffn, 1024, 2, {90.52, 16.00, 0.24, 52.05}, false, 2048},
    {"1b-slice", slice_1b, 512, 1, {469.08, 4.00, 0.12, 49.51}, false, 0},
    {"1b-slice", slice_1b, 4096, 2, {469.08, 64.00, 0.24, 53.01}, false, 0},
    {"1b-slice", slice_1b, 1000, 3, {469.08, 24.00, 0.37, 50.11}, false, 0},
    {"1b-slice", slice_1b, 300, 1, {469.08, 4.00, 0.12, 29.01}, false, 0},
    {"1b-slice", slice_1b, 2048, 4, {469.08, 64.00, 0.49, 51.01}, false, 0},
    {"1b-slice", slice_1b, 4096, 2, {469.08, 64.00, 0.26, 74.54}, true, 0},
    {"1b-slice", slice_1b, 1024, 2, {469.08, 16.00, 0.24, 200.05}, false, 2048},
};

// A vocabulary of `n` tokens (llama.cpp's SPM file has 32000) for planning the models' layout.
model::gguf_reader vocab_of(std::size_t n) {
    auto path = std::filesystem::temp_directory_path() /
                ("vram-vocab-" + std::to_string(::getpid()) + ".gguf");
    std::vector<std::string> tokens(n);
    for (std::size_t i = 0; i < n; ++i) tokens[i] = "t" + std::to_string(i);
    model::gguf_writer w;
    using v = model::gguf_value;
    EXPECT_TRUE(w.set("general.architecture", v::str("llama")));
    EXPECT_TRUE(w.set("tokenizer.ggml.model", v::str("llama")));
    EXPECT_TRUE(w.set("tokenizer.ggml.tokens", v::strings(tokens)));
    EXPECT_TRUE(w.set("tokenizer.ggml.scores", v::array(std::vector<float>(n, 0.0f))));
    EXPECT_TRUE(w.set("tokenizer.ggml.token_type", v::array(std::vector<int32_t>(n, 1))));
    EXPECT_TRUE(w.write(path, [](const model::gguf_tensor_info&, model::gguf_data_sink&) {}));
    auto r = model::gguf_reader::open(path);
    std::filesystem::remove(path);
    EXPECT_TRUE(r);
    return *r;
}

// The shape estimate_vram reads from the generated file, from its planned layout (no data).
model_shape shape_of_planned(const model::tiny_model_params& p, const model::gguf_reader& vocab) {
    auto m = model::tiny_model::plan(p, vocab);
    EXPECT_TRUE(m);
    auto s = llama(p.layers, p.width, p.heads, p.kv_heads, p.ffn, m->vocab_size());
    for (const auto& t : m->layout().tensors())
        s.weights_bytes = std::max(s.weights_bytes, t.offset + t.n_bytes);
    s.train_ctx = p.context;
    return s;
}

TEST(vram_estimate, keeps_the_calibration_bound_on_every_measured_shape_and_setting) {
    const auto vocab = vocab_of(32000);
    for (const auto& row : calibration) {
        SCOPED_TRACE(testing::Message() << row.shape << " ctx " << row.ctx << " × " << row.slots
                                        << (row.embeddings ? " emb" : "") << " ub " << row.ubatch);
        vram_options opts{.embeddings = row.embeddings};
        if (row.ubatch) opts.batch = opts.ubatch = row.ubatch;
        const auto n = estimate_vram(shape_of_planned(row.params, vocab), row.ctx, row.slots, opts);
        EXPECT_EQ(check_memory_bound(n, row.engine), "");
        // The weights are the engine's model buffer, to its rounding.
        EXPECT_NEAR(test::mib(n.weights_bytes), row.engine.model, 0.01);
        // The KV cache is exactly the engine's (a power-of-two figure, printed exactly).
        EXPECT_NEAR(test::mib(n.kv_bytes), row.engine.kv, 0.001);
    }
}

TEST(vram_estimate, the_bound_rejects_an_estimate_below_or_far_above_the_engine) {
    const reported_memory engine{100, 20, 1, 30};  // 151 MiB
    vram_need n{.weights_bytes = 100ull << 20,
                .kv_bytes = 20ull << 20,
                .overhead_bytes = 0,
                .compute_bytes = 32ull << 20};
    EXPECT_EQ(check_memory_bound(n, engine), "");
    n.kv_bytes = 19ull << 20;  // below the KV buffers
    EXPECT_NE(check_memory_bound(n, engine).find("KV"), std::string::npos);
    n.kv_bytes = 20ull << 20;
    n.compute_bytes = 256ull << 20;  // the former flat allowance: far above
    EXPECT_NE(check_memory_bound(n, engine).find("estimate"), std::string::npos);
    n.compute_bytes = 0;  // the former estimate had no compute part at all
    EXPECT_NE(check_memory_bound(n, engine).find("compute"), std::string::npos);
}

}  // namespace
}  // namespace llorch::pool
