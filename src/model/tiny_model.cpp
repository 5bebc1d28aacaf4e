#include "model/tiny_model.h"

#include <cmath>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "model/float16.h"

namespace llorch::model {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view tokenizer_prefix = "tokenizer.ggml.";
constexpr std::size_t chunk_elements = 1 << 16;
// llama.cpp's general.file_type values (LLAMA_FTYPE_ALL_F32, LLAMA_FTYPE_MOSTLY_F16).
constexpr uint32_t file_type_all_f32 = 0;
constexpr uint32_t file_type_mostly_f16 = 1;

model_error invalid(std::string message) {
    return {model_errc::invalid_params, std::move(message)};
}

// ChatML with the calls of a turn in one section, <tool_call>[{"name": ..., "arguments": {...}},
// ...]</tool_call>: a layout llama-server's template analysis recognises, in which its grammar
// ends the answer after the section (with one tag per call it allows any number of tags). When
// tools are offered and the model is to answer the user, the assistant's turn opens with the
// tool-turn marker.
constexpr std::string_view tiny_chat_template = R"TPL({%- if tools %}
{{- '<|im_start|>system\n' }}
{%- if messages[0].role == 'system' %}{{- messages[0].content + '\n\n' }}{%- endif %}
{{- '# Tools\n<tools>' }}
{%- for tool in tools %}{{- '\n' + (tool | tojson) }}{%- endfor %}
{{- '\n</tools>\nCall functions as <tool_call>[{"name": <function-name>, "arguments": <args-json-object>}]</tool_call><|im_end|>\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>assistant' }}
{%- if message.content %}{{- '\n' + message.content }}{%- endif %}
{{- '\n<tool_call>[' }}
{%- for tool_call in message.tool_calls %}
{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
{%- if not loop.first %}{{- ', ' }}{%- endif %}
{{- '{"name": "' + tool_call.name + '", "arguments": ' + (tool_call.arguments | tojson) + '}' }}
{%- endfor %}
{{- ']</tool_call>' }}
{{- '<|im_end|>\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\n<tool_response>\n' + message.content + '\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\n' }}
{%- if tools and messages[-1].role != 'tool' %}{{- '<|tool_turn|>' }}{%- endif %}
{%- endif %}
)TPL";

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Each tensor has its own stream, keyed by its name, so its values do not depend on which other
// tensors the file holds or in which order they are written.
uint64_t tensor_seed(uint64_t seed, std::string_view name) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
    return splitmix64(seed ^ splitmix64(h));
}

// Uniform on (-a, a) with a = std * sqrt(3), from the two 32-bit halves of each 64-bit draw.
// Only std::mt19937_64's output (fixed by the standard) and plain arithmetic are involved, so the
// values are the same with every standard library.
class weight_stream {
  public:
    explicit weight_stream(uint64_t seed) : engine_(seed) {}

    float next() {
        if (!have_spare_) {
            draw_ = engine_();
            have_spare_ = true;
            return to_weight(static_cast<uint32_t>(draw_ >> 32));
        }
        have_spare_ = false;
        return to_weight(static_cast<uint32_t>(draw_));
    }

  private:
    static float to_weight(uint32_t bits) {
        static const double a = tiny_model::weight_std * std::sqrt(3.0);
        const double u = (static_cast<double>(bits) + 0.5) / 4294967296.0;  // (0, 1)
        return static_cast<float>((2.0 * u - 1.0) * a);
    }

    std::mt19937_64 engine_;
    uint64_t draw_ = 0;
    bool have_spare_ = false;
};

// The rows of token_embd.weight that steer the markers (see tiny_model.h): `<tool_call>` is the
// tool-turn row scaled, so that after the tool-turn token (whose hidden state is about its own
// embedding) `<tool_call>` has the largest logit. A small gain keeps `<tool_call>` about as
// (un)likely as any token elsewhere.
struct marker_rows {
    uint64_t width = 0;
    uint64_t tool_turn = 0;
};
constexpr float tool_call_gain = 1.5f;

void fill_tensor(const gguf_tensor_info& t, uint64_t seed, const marker_rows& markers,
                 gguf_data_sink& sink) {
    const uint64_t n = t.element_count();
    // Norm weights of 1 leave the activations' scale alone.
    if (t.dims.size() == 1) {
        std::vector<float> ones(n, 1.0f);
        sink.write(std::span<const float>(ones));
        return;
    }
    const bool embeddings = t.name == "token_embd.weight";
    weight_stream weights(tensor_seed(seed, t.name));
    std::vector<float> f32;
    std::vector<uint16_t> f16;
    std::vector<float> tool_turn_row;
    for (uint64_t done = 0; done < n;) {
        const auto count = static_cast<std::size_t>(std::min<uint64_t>(chunk_elements, n - done));
        f32.resize(count);
        for (std::size_t j = 0; j < count; ++j) {
            f32[j] = weights.next();
            if (!embeddings) continue;
            const uint64_t row = (done + j) / markers.width;
            const uint64_t col = (done + j) % markers.width;
            if (row == markers.tool_turn) tool_turn_row.push_back(f32[j]);
            if (row == markers.tool_turn + 1) f32[j] = tool_call_gain * tool_turn_row[col];
        }
        if (t.type == tensor_type::f16) {
            f16.resize(count);
            for (std::size_t j = 0; j < count; ++j) f16[j] = float_to_half(f32[j]);
            sink.write(std::span<const uint16_t>(f16));
        } else {
            sink.write(std::span<const float>(f32));
        }
        done += count;
    }
}

// The vocabulary's tokenizer keys with `padding` unused tokens (type 5: never produced by the
// tokenizer) and then the markers appended as user-defined tokens (type 4: matched whole in
// text, printed as they are).
model_result<std::vector<gguf_kv>> tokenizer_kvs(const gguf_reader& vocab, uint64_t padding) {
    constexpr int32_t user_defined = 4;
    constexpr int32_t unused = 5;
    std::vector<gguf_kv> out;
    for (const auto& kv : vocab.kvs()) {
        if (!kv.key.starts_with(tokenizer_prefix) || kv.key == "tokenizer.ggml.add_space_prefix")
            continue;
        if (kv.key == "tokenizer.ggml.tokens") {
            auto tokens = *kv.value.get_strings();
            for (uint64_t i = 0; i < padding; ++i)
                tokens.push_back(fmt::format("<|unused_{}|>", i));
            for (auto m : tiny_model::markers) tokens.emplace_back(m);
            out.push_back({kv.key, gguf_value::strings(std::move(tokens))});
        } else if (kv.key == "tokenizer.ggml.scores") {
            auto scores = kv.value.get_array<float>();
            if (!scores) return invalid("tokenizer.ggml.scores is not an array of f32");
            scores->resize(scores->size() + padding + tiny_model::markers.size(), 0.0f);
            out.push_back({kv.key, gguf_value::array(*scores)});
        } else if (kv.key == "tokenizer.ggml.token_type") {
            auto types = kv.value.get_array<int32_t>();
            if (!types) return invalid("tokenizer.ggml.token_type is not an array of i32");
            types->resize(types->size() + padding, unused);
            types->resize(types->size() + tiny_model::markers.size(), user_defined);
            out.push_back({kv.key, gguf_value::array(*types)});
        } else {
            out.push_back(kv);
        }
    }
    // Without the space SentencePiece puts before a text, the text of a generation prompt
    // tokenizes to the same pieces inside and outside the prompt: what llama-server's grammar
    // sampler needs to replay the prompt's end (response_format, tool_choice "required").
    out.push_back({"tokenizer.ggml.add_space_prefix", gguf_value::boolean(false)});
    out.push_back({"tokenizer.chat_template", gguf_value::str(std::string(tiny_chat_template))});
    return out;
}

model_result<void> check(const tiny_model_params& p) {
    if (p.layers == 0) return invalid("layers must be at least 1");
    if (p.width == 0 || p.heads == 0 || p.kv_heads == 0 || p.ffn == 0 || p.context == 0) {
        return invalid("width, heads, kv-heads, ffn and ctx must be at least 1");
    }
    if (p.width % p.heads != 0) {
        return invalid(fmt::format("width {} is not a multiple of heads {}", p.width, p.heads));
    }
    if ((p.width / p.heads) % 2 != 0) {
        return invalid(
            fmt::format("head size {} (width / heads) must be even for RoPE", p.width / p.heads));
    }
    if (p.heads % p.kv_heads != 0) {
        return invalid(
            fmt::format("heads {} is not a multiple of kv-heads {}", p.heads, p.kv_heads));
    }
    if (p.type != tensor_type::f32 && p.type != tensor_type::f16) {
        return invalid("tensor type must be f32 or f16");
    }
    return {};
}

}  // namespace

std::optional<tiny_model_params> tiny_model_params::preset(std::string_view name) {
    if (name == "tiny") return tiny_model_params{};
    if (name == "1b") {
        tiny_model_params p;
        p.layers = 16;
        p.width = 2048;
        p.heads = 32;
        p.kv_heads = 8;
        p.ffn = 5632;
        p.type = tensor_type::f16;
        p.name = "llorch-1b";
        return p;
    }
    return std::nullopt;
}

model_result<tiny_model> tiny_model::plan(const tiny_model_params& params,
                                          const gguf_reader& vocab) {
    if (auto ok = check(params); !ok) return ok.error();
    const auto* tokens = vocab.find("tokenizer.ggml.tokens");
    if (!tokens || !tokens->get_strings() || tokens->array_size() == 0) {
        return model_error{model_errc::missing_key,
                           "the vocabulary file has no tokenizer.ggml.tokens array of strings"};
    }

    const uint64_t own = tokens->array_size() + markers.size();
    if (params.vocab != 0 && params.vocab < own) {
        return invalid(
            fmt::format("vocab {} is smaller than the tokenizer's {} tokens and {} markers",
                        params.vocab, tokens->array_size(), markers.size()));
    }
    const uint64_t padding = params.vocab == 0 ? 0 : params.vocab - own;
    auto tokenizer = tokenizer_kvs(vocab, padding);
    if (!tokenizer) return tokenizer.error();

    tiny_model m;
    m.params_ = params;
    m.vocab_size_ = own + padding;
    auto& w = m.writer_;
    const uint32_t head_size = params.width / params.heads;
    const uint64_t kv_width = uint64_t{head_size} * params.kv_heads;
    const bool f16 = params.type == tensor_type::f16;

    std::vector<gguf_kv> kvs = {
        {"general.architecture", gguf_value::str("llama")},
        {"general.name", gguf_value::str(params.name)},
        {"general.description",
         gguf_value::str(fmt::format("random weights (seed {}) for tests and benchmarks; "
                                     "generated by `llorch model make-tiny`",
                                     params.seed))},
        {"general.file_type", gguf_value::u32(f16 ? file_type_mostly_f16 : file_type_all_f32)},
        {"llama.vocab_size", gguf_value::u32(static_cast<uint32_t>(m.vocab_size_))},
        {"llama.context_length", gguf_value::u32(params.context)},
        {"llama.embedding_length", gguf_value::u32(params.width)},
        {"llama.block_count", gguf_value::u32(params.layers)},
        {"llama.feed_forward_length", gguf_value::u32(params.ffn)},
        {"llama.attention.head_count", gguf_value::u32(params.heads)},
        {"llama.attention.head_count_kv", gguf_value::u32(params.kv_heads)},
        {"llama.rope.dimension_count", gguf_value::u32(head_size)},
        {"llama.rope.freq_base", gguf_value::f32(10000.0f)},
        {"llama.attention.layer_norm_rms_epsilon", gguf_value::f32(1e-5f)},
    };
    for (auto& kv : *tokenizer) kvs.push_back(std::move(kv));
    for (auto& kv : kvs) {
        if (auto ok = w.set(std::move(kv.key), std::move(kv.value)); !ok) return ok.error();
    }

    // ggml order: dims[0] is the input dimension of a matrix. There is no output.weight: llama.cpp
    // then uses token_embd.weight for the output projection too (tied embeddings).
    const uint64_t n_embd = params.width;
    const uint64_t n_ff = params.ffn;
    const auto mat = params.type;
    struct tensor_spec {
        std::string name;
        std::vector<uint64_t> dims;
        tensor_type type;
    };
    std::vector<tensor_spec> specs = {
        {"token_embd.weight", {n_embd, m.vocab_size_}, mat},
        {"output_norm.weight", {n_embd}, tensor_type::f32},
    };
    for (uint32_t i = 0; i < params.layers; ++i) {
        auto blk = [i](std::string_view what) { return fmt::format("blk.{}.{}.weight", i, what); };
        specs.push_back({blk("attn_norm"), {n_embd}, tensor_type::f32});
        specs.push_back({blk("attn_q"), {n_embd, n_embd}, mat});
        specs.push_back({blk("attn_k"), {n_embd, kv_width}, mat});
        specs.push_back({blk("attn_v"), {n_embd, kv_width}, mat});
        specs.push_back({blk("attn_output"), {n_embd, n_embd}, mat});
        specs.push_back({blk("ffn_norm"), {n_embd}, tensor_type::f32});
        specs.push_back({blk("ffn_gate"), {n_embd, n_ff}, mat});
        specs.push_back({blk("ffn_up"), {n_embd, n_ff}, mat});
        specs.push_back({blk("ffn_down"), {n_ff, n_embd}, mat});
    }
    for (auto& s : specs) {
        if (auto ok = w.add_tensor(std::move(s.name), std::move(s.dims), s.type); !ok) {
            return ok.error();
        }
    }
    return m;
}

uint64_t tiny_model::parameter_count() const {
    uint64_t n = 0;
    for (const auto& t : writer_.tensors()) n += t.element_count();
    return n;
}

model_result<void> tiny_model::write(const fs::path& dest, const gguf_progress_fn& progress) const {
    const uint64_t seed = params_.seed;
    const marker_rows rows{params_.width, tool_turn_token()};
    return writer_.write(
        dest,
        [seed, rows](const gguf_tensor_info& t, gguf_data_sink& sink) {
            fill_tensor(t, seed, rows, sink);
        },
        progress);
}

}  // namespace llorch::model
