#include "model/tiny_model.h"

#include <cmath>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "file_bytes.h"
#include "model/float16.h"
#include "model/gguf_reader.h"
#include "temp_dir.h"

namespace llorch::model {
namespace {
using test::read_bytes;

// Stands in for llama.cpp's ggml-vocab-llama-spm.gguf: tokenizer keys of several types plus keys
// that must not be copied.
gguf_reader make_vocab(const test::temp_dir& dir, std::size_t n_tokens = 100) {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (std::size_t i = 0; i < n_tokens; ++i) {
        tokens.push_back("tok" + std::to_string(i));
        scores.push_back(-static_cast<float>(i));
        types.push_back(i < 3 ? 3 : 1);
    }
    gguf_writer w;
    EXPECT_TRUE(w.set("general.architecture", gguf_value::str("llama")));
    EXPECT_TRUE(w.set("general.name", gguf_value::str("vocab file")));
    EXPECT_TRUE(w.set("llama.context_length", gguf_value::u32(1)));
    EXPECT_TRUE(w.set("tokenizer.ggml.model", gguf_value::str("llama")));
    EXPECT_TRUE(w.set("tokenizer.ggml.tokens", gguf_value::strings(tokens)));
    EXPECT_TRUE(w.set("tokenizer.ggml.scores", gguf_value::array(scores)));
    EXPECT_TRUE(w.set("tokenizer.ggml.token_type", gguf_value::array(types)));
    EXPECT_TRUE(w.set("tokenizer.ggml.bos_token_id", gguf_value::u32(1)));
    EXPECT_TRUE(w.set("tokenizer.ggml.add_bos_token", gguf_value::boolean(true)));
    EXPECT_TRUE(w.set("tokenizer.chat_template", gguf_value::str("not a ggml key")));
    auto ok = w.write(dir / "vocab.gguf", [](const gguf_tensor_info&, gguf_data_sink&) {});
    EXPECT_TRUE(ok);
    auto r = gguf_reader::open(dir / "vocab.gguf");
    EXPECT_TRUE(r);
    return *r;
}

tiny_model plan(const tiny_model_params& p, const gguf_reader& vocab) {
    auto m = tiny_model::plan(p, vocab);
    EXPECT_TRUE(m) << (m ? "" : m.error().message);
    return *m;
}

gguf_reader write_and_read(const tiny_model& m, const std::filesystem::path& path) {
    auto ok = m.write(path);
    EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
    auto r = gguf_reader::open(path);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return *r;
}

std::vector<float> tensor_values(const gguf_reader& r, const std::filesystem::path& path,
                                 const std::string& name) {
    const auto* t = r.find_tensor(name);
    EXPECT_NE(t, nullptr) << name;
    const auto bytes = read_bytes(path);
    const auto at = r.data_offset() + t->offset;
    std::vector<float> out(t->element_count());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (t->type == tensor_type::f16) {
            out[i] = half_to_float(test::load<uint16_t>(bytes, at + 2 * i));
        } else {
            out[i] = test::load<float>(bytes, at + 4 * i);
        }
    }
    return out;
}

TEST(tiny_model, has_the_llama_tensors_in_llama_cpp_dimension_order) {
    test::temp_dir dir;
    tiny_model_params p;
    p.kv_heads = 2;
    auto r = write_and_read(plan(p, make_vocab(dir)), dir / "tiny.gguf");

    ASSERT_EQ(r.tensors().size(), 2u + 9 * 2);
    auto dims = [&r](const std::string& name) {
        const auto* t = r.find_tensor(name);
        EXPECT_NE(t, nullptr) << name;
        return t ? t->dims : std::vector<uint64_t>{};
    };
    using d = std::vector<uint64_t>;
    EXPECT_EQ(dims("token_embd.weight"), (d{64, 102}));  // the vocabulary and two markers
    EXPECT_EQ(dims("output_norm.weight"), (d{64}));
    EXPECT_EQ(r.find_tensor("output.weight"), nullptr);  // tied to token_embd
    for (int i = 0; i < 2; ++i) {
        const auto blk = "blk." + std::to_string(i) + ".";
        EXPECT_EQ(dims(blk + "attn_norm.weight"), (d{64}));
        EXPECT_EQ(dims(blk + "attn_q.weight"), (d{64, 64}));
        EXPECT_EQ(dims(blk + "attn_k.weight"), (d{64, 32}));  // 2 kv heads of 16
        EXPECT_EQ(dims(blk + "attn_v.weight"), (d{64, 32}));
        EXPECT_EQ(dims(blk + "attn_output.weight"), (d{64, 64}));
        EXPECT_EQ(dims(blk + "ffn_norm.weight"), (d{64}));
        EXPECT_EQ(dims(blk + "ffn_gate.weight"), (d{64, 256}));
        EXPECT_EQ(dims(blk + "ffn_up.weight"), (d{64, 256}));
        EXPECT_EQ(dims(blk + "ffn_down.weight"), (d{256, 64}));
    }
    for (const auto& t : r.tensors()) EXPECT_EQ(t.type, tensor_type::f32) << t.name;
    EXPECT_EQ(std::filesystem::file_size(dir / "tiny.gguf"), r.file_size());
}

TEST(tiny_model, writes_the_keys_llama_cpp_needs) {
    test::temp_dir dir;
    tiny_model_params p;
    p.context = 512;
    auto r = write_and_read(plan(p, make_vocab(dir)), dir / "tiny.gguf");

    EXPECT_EQ(r.architecture(), "llama");
    auto h = r.hparams();
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(h->block_count, 2u);
    EXPECT_EQ(h->embedding_length, 64u);
    EXPECT_EQ(h->head_count, 4u);
    EXPECT_EQ(h->head_count_kv, 4u);
    EXPECT_EQ(h->context_length, 512u);
    EXPECT_EQ(h->feed_forward_length, 256u);
    EXPECT_EQ(h->vocab_size, 102u);
    auto u32 = [&r](const char* key) {
        return r.find(key) ? r.find(key)->get<uint32_t>() : std::nullopt;
    };
    EXPECT_EQ(u32("llama.rope.dimension_count"), 16u);
    EXPECT_EQ(u32("general.file_type"), 0u);
    ASSERT_NE(r.find("llama.attention.layer_norm_rms_epsilon"), nullptr);
    EXPECT_EQ(r.find("llama.attention.layer_norm_rms_epsilon")->get<float>(), 1e-5f);
    EXPECT_EQ(r.find("general.name")->get_string(), "llorch-tiny");
}

TEST(tiny_model, copies_the_tokenizer_and_appends_the_tool_markers_and_a_chat_template) {
    test::temp_dir dir;
    const auto vocab = make_vocab(dir);
    auto r = write_and_read(plan({}, vocab), dir / "tiny.gguf");

    int copied = 0;
    for (const auto& kv : vocab.kvs()) {
        if (!kv.key.starts_with("tokenizer.ggml.")) continue;
        ++copied;
        const auto* v = r.find(kv.key);
        ASSERT_NE(v, nullptr) << kv.key;
        if (kv.key == "tokenizer.ggml.tokens" || kv.key == "tokenizer.ggml.scores" ||
            kv.key == "tokenizer.ggml.token_type") {
            EXPECT_EQ(v->array_size(), kv.value.array_size() + 2) << kv.key;
        } else {
            EXPECT_TRUE(*v == kv.value) << kv.key;
        }
    }
    EXPECT_EQ(copied, 6);
    const auto& tokens = *r.find("tokenizer.ggml.tokens")->get_strings();
    EXPECT_EQ(tokens[0], "tok0");
    EXPECT_EQ(tokens[100], "<|tool_turn|>");
    EXPECT_EQ(tokens[101], "<tool_call>");
    EXPECT_EQ(r.find("tokenizer.ggml.token_type")->get_array<int32_t>()->back(), 4);  // user
    EXPECT_EQ(r.find("tokenizer.ggml.add_space_prefix")->get<bool>(), false);
    auto tpl = r.find("tokenizer.chat_template")->get_string();
    ASSERT_TRUE(tpl);  // ours, not the vocabulary file's
    EXPECT_NE(tpl->find("<tool_call>"), std::string_view::npos);
    EXPECT_NE(tpl->find("<|tool_turn|>"), std::string_view::npos);
    EXPECT_EQ(r.find("llama.context_length")->get<uint32_t>(), 4096u);  // ours, not the vocab's
}

TEST(tiny_model, a_larger_vocab_pads_with_unused_tokens_before_the_markers) {
    test::temp_dir dir;
    const auto vocab = make_vocab(dir);
    tiny_model_params p;
    p.vocab = 150;
    auto m = plan(p, vocab);
    EXPECT_EQ(m.vocab_size(), 150u);
    EXPECT_EQ(m.tool_turn_token(), 148u);
    auto r = write_and_read(m, dir / "tiny.gguf");
    const auto& tokens = *r.find("tokenizer.ggml.tokens")->get_strings();
    ASSERT_EQ(tokens.size(), 150u);
    EXPECT_EQ(tokens[99], "tok99");
    EXPECT_EQ(tokens[100], "<|unused_0|>");
    EXPECT_EQ(tokens[148], "<|tool_turn|>");
    EXPECT_EQ(tokens[149], "<tool_call>");
    const auto types = *r.find("tokenizer.ggml.token_type")->get_array<int32_t>();
    EXPECT_EQ(types[100], 5);  // unused
    EXPECT_EQ(types[148], 4);  // user-defined
    EXPECT_EQ(r.find("tokenizer.ggml.scores")->array_size(), 150u);
    EXPECT_EQ(r.find("llama.vocab_size")->get<uint32_t>(), 150u);
    const auto* embd = r.find_tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->dims, (std::vector<uint64_t>{64, 150}));

    p.vocab = 101;  // fewer than the tokenizer's 100 tokens and the 2 markers
    auto small = tiny_model::plan(p, vocab);
    ASSERT_FALSE(small);
    EXPECT_NE(small.error().message.find("vocab 101"), std::string::npos) << small.error().message;
}

TEST(tiny_model, the_tool_call_embedding_is_the_tool_turn_embedding_scaled) {
    test::temp_dir dir;
    const auto path = dir / "tiny.gguf";
    auto m = plan({}, make_vocab(dir));
    EXPECT_EQ(m.tool_turn_token(), 100u);
    auto r = write_and_read(m, path);
    const auto e = tensor_values(r, path, "token_embd.weight");
    for (std::size_t j = 0; j < 64; ++j) {
        const float turn = e[100 * 64 + j];
        ASSERT_NE(turn, 0.0f);
        EXPECT_FLOAT_EQ(e[101 * 64 + j], 1.5f * turn) << j;
    }
}

TEST(tiny_model, the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes) {
    test::temp_dir dir;
    const auto vocab = make_vocab(dir);
    tiny_model_params p;
    ASSERT_TRUE(plan(p, vocab).write(dir / "a.gguf"));
    ASSERT_TRUE(plan(p, vocab).write(dir / "b.gguf"));
    p.seed = 43;
    ASSERT_TRUE(plan(p, vocab).write(dir / "c.gguf"));
    const auto a = read_bytes(dir / "a.gguf");
    EXPECT_EQ(a, read_bytes(dir / "b.gguf"));
    const auto c = read_bytes(dir / "c.gguf");
    ASSERT_EQ(a.size(), c.size());
    EXPECT_NE(a, c);
}

TEST(tiny_model, weights_are_the_same_on_every_machine) {
    // The first weights of seed 42, pinned: they depend only on std::mt19937_64 (fully specified
    // by the standard) and plain arithmetic. A change here changes every generated model.
    test::temp_dir dir;
    const auto path = dir / "tiny.gguf";
    auto r = write_and_read(plan({}, make_vocab(dir)), path);
    const auto w = tensor_values(r, path, "blk.0.attn_q.weight");
    const uint32_t expected[] = {0x3ca2d0e6, 0xbba09547, 0xbd048b0a, 0x3a11a174};
    for (std::size_t i = 0; i < 4; ++i) {
        uint32_t bits = 0;
        std::memcpy(&bits, &w[i], sizeof(bits));
        EXPECT_EQ(bits, expected[i]) << "weight " << i << " = " << w[i];
    }
    // Each tensor has its own stream.
    EXPECT_NE(tensor_values(r, path, "blk.1.attn_q.weight")[0], w[0]);
}

TEST(tiny_model, weights_have_the_requested_scale_and_norms_are_one) {
    test::temp_dir dir;
    const auto path = dir / "tiny.gguf";
    auto r = write_and_read(plan({}, make_vocab(dir)), path);
    const auto w = tensor_values(r, path, "blk.0.ffn_up.weight");
    double sum = 0;
    double sum_sq = 0;
    float largest = 0;
    for (float x : w) {
        sum += x;
        sum_sq += double(x) * x;
        largest = std::max(largest, std::abs(x));
    }
    const double mean = sum / w.size();
    const double std = std::sqrt(sum_sq / w.size() - mean * mean);
    EXPECT_NEAR(mean, 0.0, 0.001);
    EXPECT_NEAR(std, tiny_model::weight_std, 0.001);
    EXPECT_LE(largest, tiny_model::weight_std * std::sqrt(3.0) + 1e-6);
    for (float x : tensor_values(r, path, "blk.1.attn_norm.weight")) ASSERT_EQ(x, 1.0f);
    for (float x : tensor_values(r, path, "output_norm.weight")) ASSERT_EQ(x, 1.0f);
}

TEST(tiny_model, f16_models_keep_norms_in_f32) {
    test::temp_dir dir;
    const auto path = dir / "tiny.gguf";
    tiny_model_params p;
    p.type = tensor_type::f16;
    auto r = write_and_read(plan(p, make_vocab(dir)), path);
    EXPECT_EQ(r.find_tensor("token_embd.weight")->type, tensor_type::f16);
    EXPECT_EQ(r.find_tensor("blk.0.ffn_down.weight")->type, tensor_type::f16);
    EXPECT_EQ(r.find_tensor("blk.0.ffn_norm.weight")->type, tensor_type::f32);
    EXPECT_EQ(r.find("general.file_type")->get<uint32_t>(), 1u);
    const auto w = tensor_values(r, path, "blk.0.attn_k.weight");
    EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](float x) { return x != 0.0f; }));
    for (float x : w) ASSERT_LE(std::abs(x), 0.035f);
}

TEST(tiny_model, default_has_the_expected_parameter_count_with_a_32k_vocabulary) {
    test::temp_dir dir;
    auto m = plan({}, make_vocab(dir, 32000));
    // token_embd + output_norm + 2 x (2 norms + q, k, v, o + gate, up, down)
    const uint64_t per_layer = 2 * 64 + 4 * 64 * 64 + 3 * 64 * 256;
    EXPECT_EQ(m.parameter_count(), 64u * 32002 + 64 + 2 * per_layer);
    EXPECT_GT(m.file_size(), 8'500'000u);
    EXPECT_LT(m.file_size(), 10'000'000u);
}

TEST(tiny_model, the_1b_preset_is_planned_without_writing) {
    test::temp_dir dir;
    auto p = tiny_model_params::preset("1b");
    ASSERT_TRUE(p);
    auto m = plan(*p, make_vocab(dir, 32000));
    EXPECT_EQ(m.layout().tensors().size(), 2u + 9 * 16);
    const auto& k = *std::find_if(m.layout().tensors().begin(), m.layout().tensors().end(),
                                  [](const auto& t) { return t.name == "blk.15.attn_k.weight"; });
    EXPECT_EQ(k.dims, (std::vector<uint64_t>{2048, 512}));
    EXPECT_EQ(k.type, tensor_type::f16);
    EXPECT_GT(m.parameter_count(), 780'000'000u);
    EXPECT_GT(m.file_size(), 1'500'000'000u);
    EXPECT_LT(m.file_size(), 1'800'000'000u);
    EXPECT_FALSE(tiny_model_params::preset("7b"));
}

TEST(tiny_model, rejects_impossible_shapes) {
    test::temp_dir dir;
    const auto vocab = make_vocab(dir);
    auto rejects = [&vocab](auto change) {
        tiny_model_params p;
        change(p);
        auto m = tiny_model::plan(p, vocab);
        return !m && m.error().code == model_errc::invalid_params;
    };
    EXPECT_TRUE(rejects([](auto& p) { p.layers = 0; }));
    EXPECT_TRUE(rejects([](auto& p) { p.heads = 3; }));     // 64 % 3
    EXPECT_TRUE(rejects([](auto& p) { p.kv_heads = 3; }));  // 4 % 3
    EXPECT_TRUE(rejects([](auto& p) { p.heads = 64; }));    // head size 1 is odd
    EXPECT_TRUE(rejects([](auto& p) { p.ffn = 0; }));
    EXPECT_TRUE(rejects([](auto& p) { p.type = tensor_type::q4_0; }));
    EXPECT_FALSE(rejects([](auto& p) { p.kv_heads = 1; }));
}

TEST(tiny_model, needs_a_vocabulary_with_tokens) {
    test::temp_dir dir;
    gguf_writer w;
    ASSERT_TRUE(w.set("tokenizer.ggml.model", gguf_value::str("llama")));
    ASSERT_TRUE(w.write(dir / "v.gguf", [](const gguf_tensor_info&, gguf_data_sink&) {}));
    auto vocab = gguf_reader::open(dir / "v.gguf");
    ASSERT_TRUE(vocab);
    auto m = tiny_model::plan({}, *vocab);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, model_errc::missing_key);
}

}  // namespace
}  // namespace llorch::model
