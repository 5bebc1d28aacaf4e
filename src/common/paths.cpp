#include "common/paths.h"

#include <cstdlib>

namespace llorch::common {
namespace fs = std::filesystem;

namespace {
std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}
}  // namespace

fs::path cache_dir() {
    if (auto v = env_or_empty("LLORCH_CACHE_DIR"); !v.empty()) return v;
    if (auto v = env_or_empty("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "llama-orch";
    if (auto v = env_or_empty("HOME"); !v.empty()) return fs::path(v) / ".cache" / "llama-orch";
    return fs::temp_directory_path() / "llama-orch-cache";
}

fs::path engine_build_dir(const std::string& backend) {
    return cache_dir() / "engines" /
           (std::string("llama.cpp-nlc") + LLORCH_ENGINE_SOURCE_VERSION + "-" + backend);
}

std::optional<fs::path> find_engine() {
    if (auto v = env_or_empty("LLORCH_ENGINE"); !v.empty()) {
        if (fs::exists(v)) return fs::path(v);
        return std::nullopt;
    }
    for (const char* backend : {"cuda", "cpu"}) {
        auto p = engine_build_dir(backend) / "bin" / "llama-server";
        if (fs::exists(p)) return p;
    }
    return std::nullopt;
}

std::optional<fs::path> find_vocab() {
    for (const char* backend : {"cpu", "cuda"}) {
        auto p = engine_build_dir(backend) / "vocab" / "ggml-vocab-llama-spm.gguf";
        if (fs::exists(p)) return p;
    }
    return std::nullopt;
}

// The folder names the generator's revision: a file made by an older `make-tiny` (without the
// chat template and tool-call tokens) is not taken for the current one.
fs::path default_tiny_model_path() { return cache_dir() / "models" / "tiny-r2" / "tiny.gguf"; }

}  // namespace llorch::common
