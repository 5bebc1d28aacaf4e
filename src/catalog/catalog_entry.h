#pragma once
// A model file a node holds, as the catalog lists it: its name and tag, where it lies, its size,
// modification time and sha256, and the facts read from its GGUF header (architecture, parameter
// count, quantization, context length, layer and head counts, whether it carries a chat
// template). Plain values and pure functions; reading the file is the caller's (gguf_reader).
//
// Names follow Ollama: `name[:tag]`, the tag `latest` when none is given. A name is 1–128 of
// [A-Za-z0-9._-] not starting with '.' or '-'; a tag 1–64 of the same characters. A model's file
// in a models folder is `<name>.gguf` for the tag latest and `<name>:<tag>.gguf` otherwise, so a
// scan gives each file back its name.

#include <cstdint>
#include <string>
#include <string_view>

#include "catalog/catalog_error.h"
#include "model/gguf_reader.h"

namespace llorch::catalog {

inline constexpr std::string_view default_tag = "latest";

// What a GGUF header says about the model.
struct gguf_summary {
    std::string architecture;      // general.architecture, e.g. "llama"
    uint64_t parameter_count = 0;  // the tensors' elements
    std::string quantization;      // general.file_type's name (e.g. "Q4_K_M"), else the main type
    int64_t file_type = -1;        // general.file_type, -1 when the file does not say
    uint64_t context_length = 0;   // <arch>.context_length (training context)
    uint64_t block_count = 0;      // layers
    uint64_t head_count = 0;
    uint64_t head_count_kv = 0;
    uint64_t embedding_length = 0;
    bool chat_template = false;  // tokenizer.chat_template present
};

// Reads the summary off an opened file's header. `bad_model` when a required key
// (<arch>.block_count and the others of hparams()) is missing.
catalog_result<gguf_summary> summarize(const model::gguf_reader& r);

// llama.cpp's name of a general.file_type number ("F16", "Q4_K_M", ...); empty when unknown.
std::string_view file_type_name(int64_t file_type);

struct model_name {
    std::string name;
    std::string tag = std::string(default_tag);

    std::string full() const { return name + ":" + tag; }
    // `name` for the tag latest, `name:tag` otherwise: how lists show it.
    std::string display() const { return tag == default_tag ? name : full(); }
    // The file name in a models folder: `<display()>.gguf`.
    std::string file_name() const { return display() + ".gguf"; }
    friend bool operator==(const model_name&, const model_name&) = default;
};

// `name` or `name:tag`; invalid_name naming the rule when either part breaks it.
catalog_result<model_name> parse_model_name(std::string_view text);
// The name a file in a models folder stands for (its stem, `name:tag` or `name`); invalid_name
// when the stem is no valid name or the file does not end in `.gguf`.
catalog_result<model_name> name_of_file(std::string_view file_name);

struct catalog_entry {
    model_name name;
    std::string path;  // absolute
    uint64_t size_bytes = 0;
    int64_t mtime_ns = 0;  // the file's modification time when it was hashed
    std::string sha256;    // lowercase hex
    gguf_summary summary;
    std::string source;  // where it was staged from; empty for a file found on disk
    // Whether a pool's configuration names the file (it is the pool's, not the models folder's).
    bool pool_file = false;
};

// 64 hex digits (either case).
bool valid_sha256(std::string_view hex);

}  // namespace llorch::catalog
