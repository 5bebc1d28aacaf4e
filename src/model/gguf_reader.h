#pragma once
// Reads the metadata of a GGUF file (v2 or v3): header, every key/value with its exact type, and
// the tensor infos, without loading tensor data, so it is cheap even for a model of many GB.
// Used to copy the tokenizer of llama.cpp's vocabulary file into the tiny model and to size a
// model (tensor bytes, layers, heads, context) before an engine loads it.
// A reader is an immutable snapshot of the file taken by open(); safe to share between threads.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/gguf_tensor_info.h"
#include "model/gguf_value.h"
#include "model/model_error.h"

namespace llorch::model {

// The hyper-parameters that decide a model's memory use, from the `<architecture>.*` keys.
struct model_hparams {
    std::string architecture;  // general.architecture, e.g. "llama"
    uint64_t block_count = 0;
    uint64_t embedding_length = 0;
    uint64_t head_count = 0;
    uint64_t head_count_kv =
        0;  // head_count when the file does not say (no grouped-query attention)
    uint64_t context_length = 0;
    std::optional<uint64_t> feed_forward_length;
    // <arch>.vocab_size, else the length of tokenizer.ggml.tokens.
    std::optional<uint64_t> vocab_size;
};

class gguf_reader {
  public:
    static model_result<gguf_reader> open(const std::filesystem::path& path);

    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    // File offset of the tensor data section (aligned when the file has tensors).
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return file_size_; }

    const std::vector<gguf_kv>& kvs() const { return kvs_; }
    const gguf_value* find(std::string_view key) const;
    const std::vector<gguf_tensor_info>& tensors() const { return tensors_; }
    const gguf_tensor_info* find_tensor(std::string_view name) const;

    // Sum of the tensors' unpadded data sizes: what an engine must hold for the weights.
    uint64_t tensor_bytes() const;
    // general.architecture, or empty when absent.
    std::string_view architecture() const;
    // Fails with missing_key naming the first required key that is absent.
    model_result<model_hparams> hparams() const;

  private:
    uint32_t version_ = 0;
    uint32_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    uint64_t file_size_ = 0;
    std::vector<gguf_kv> kvs_;
    std::vector<gguf_tensor_info> tensors_;
};

}  // namespace llorch::model
