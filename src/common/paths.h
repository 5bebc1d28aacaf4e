#pragma once
// Where llama-orch keeps what it builds or generates outside the repository: the engine build and
// generated models. Shared by the daemons, the CLI and the tests so that all agree on one place.

#include <filesystem>
#include <optional>
#include <string>

namespace llorch::common {

// ${LLORCH_CACHE_DIR} or ${XDG_CACHE_HOME:-$HOME/.cache}/llama-orch.
std::filesystem::path cache_dir();

// Folder of one engine build: <cache>/engines/llama.cpp-nlc<version>-<backend>.
std::filesystem::path engine_build_dir(const std::string& backend);

// The llama-server to run: $LLORCH_ENGINE when set, else the cached CUDA build when present,
// else the cached CPU build. Empty when none of these exists.
std::optional<std::filesystem::path> find_engine();

// The llama.cpp SPM vocabulary copied next to the engine build (tokenizer of the tiny model).
std::optional<std::filesystem::path> find_vocab();

// <cache>/models/tiny-r2/tiny.gguf: where `llorch model make-tiny` writes by default.
std::filesystem::path default_tiny_model_path();

}  // namespace llorch::common
