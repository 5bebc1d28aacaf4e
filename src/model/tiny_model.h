#pragma once
// A llama-architecture GGUF model with random weights, small enough to generate on demand, for
// tests and benchmarks that need the real engine but not a meaningful model. The tokenizer (every
// `tokenizer.ggml.*` key) is copied from llama.cpp's vocabulary file, so the engine tokenizes and
// detokenizes real text. Weights are a pure function of the parameters and the seed: the same
// parameters give the same bytes on every machine.
// Chat: a ChatML template with tool calls (`tokenizer.chat_template`, in a layout llama-server
// parses tool calls from), and no SentencePiece space prefix (so llama-server's grammars, used
// by response_format and tool_choice, can replay the generation prompt). Two user-defined tokens
// end the vocabulary: `<|tool_turn|>`, with which the template opens an assistant turn when tools
// are offered, and `<tool_call>`, whose embedding is the former's scaled: random weights make a
// model repeat its last token under greedy decoding, and this makes the tiny model open a tool
// call instead, so that tests see a real call from the real engine (with temperature 0).
// Plain value; plan() is cheap, write() streams the tensor data and holds at most one chunk.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "model/gguf_reader.h"
#include "model/gguf_writer.h"
#include "model/model_error.h"

namespace llorch::model {

struct tiny_model_params {
    uint32_t layers = 2;
    uint32_t width = 64;  // n_embd
    uint32_t heads = 4;
    uint32_t kv_heads = 4;
    uint32_t ffn = 256;
    uint32_t context = 4096;
    // Tokens in all: 0 for the vocabulary file's own plus the markers; more pads the vocabulary
    // with unused tokens before the markers (a larger embedding and output, as real models have).
    uint32_t vocab = 0;
    uint64_t seed = 42;
    tensor_type type = tensor_type::f32;  // of the matrices; norms are always f32
    std::string name = "llorch-tiny";

    // "tiny" (the defaults, ~9 MB) or "1b" (width 2048, 16 layers, 32/8 heads, ffn 5632, f16,
    // ~1.6 GB, for GPU benchmarks).
    static std::optional<tiny_model_params> preset(std::string_view name);
};

class tiny_model {
  public:
    // The tokens appended to the vocabulary (see above), in order.
    static constexpr std::array<std::string_view, 2> markers = {"<|tool_turn|>", "<tool_call>"};
    // Standard deviation of the random weights (uniformly distributed).
    static constexpr double weight_std = 0.02;

    // Checks the parameters and lays out the file. Fails with missing_key when `vocab` has no
    // tokenizer.ggml.tokens, with invalid_params for an impossible shape.
    static model_result<tiny_model> plan(const tiny_model_params& params, const gguf_reader& vocab);

    const tiny_model_params& params() const { return params_; }
    const gguf_writer& layout() const { return writer_; }
    uint64_t vocab_size() const { return vocab_size_; }
    // The id of `<|tool_turn|>` (`<tool_call>` follows it).
    uint64_t tool_turn_token() const { return vocab_size_ - markers.size(); }
    uint64_t parameter_count() const;
    uint64_t file_size() const { return writer_.file_size(); }

    // Writes the model to `dest` (temporary file + rename; the parent folder must exist).
    model_result<void> write(const std::filesystem::path& dest,
                             const gguf_progress_fn& progress = {}) const;

  private:
    tiny_model_params params_;
    uint64_t vocab_size_ = 0;
    gguf_writer writer_;
};

}  // namespace llorch::model
