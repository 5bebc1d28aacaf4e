#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "commands.h"
#include "common/paths.h"
#include "model/gguf_reader.h"
#include "model/tiny_model.h"
#include "progress_bar.h"

namespace llorch::cli {
namespace {
namespace fs = std::filesystem;

// Above this size a model takes long enough to write that the user wants to see it move.
constexpr uint64_t progress_threshold = 64ull << 20;

struct make_tiny_options {
    std::string out;
    std::string vocab;
    std::string preset = "tiny";
    std::string type;
    uint32_t layers = 0;
    uint32_t width = 0;
    uint32_t heads = 0;
    uint32_t kv_heads = 0;
    uint32_t ffn = 0;
    uint32_t ctx = 0;
    uint32_t vocab_size = 0;
    uint64_t seed = 0;
};

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "llorch model make-tiny: " << message << "\n";
    std::exit(1);
}

void run_make_tiny(const make_tiny_options& o, const CLI::App& cmd) {
    auto params = model::tiny_model_params::preset(o.preset);
    if (!params) fail(fmt::format("unknown preset '{}' (tiny or 1b)", o.preset));
    // Flags given explicitly override the preset.
    auto given = [&cmd](const char* flag) { return cmd.count(flag) > 0; };
    if (given("--layers")) params->layers = o.layers;
    if (given("--width")) params->width = o.width;
    if (given("--heads")) params->heads = o.heads;
    if (given("--kv-heads")) params->kv_heads = o.kv_heads;
    if (given("--ffn")) params->ffn = o.ffn;
    if (given("--ctx")) params->context = o.ctx;
    if (given("--vocab-size")) params->vocab = o.vocab_size;
    if (given("--seed")) params->seed = o.seed;
    if (given("--type"))
        params->type = o.type == "f16" ? model::tensor_type::f16 : model::tensor_type::f32;

    fs::path vocab_path;
    if (!o.vocab.empty()) {
        vocab_path = o.vocab;
    } else if (auto found = common::find_vocab()) {
        vocab_path = *found;
    } else {
        fail(
            "the llama.cpp vocabulary (ggml-vocab-llama-spm.gguf) is not there yet: it comes with "
            "the engine build; run `make run` or `scripts/build-engine.sh`, or pass --vocab PATH");
    }
    auto vocab = model::gguf_reader::open(vocab_path);
    if (!vocab) fail(vocab.error().message);

    auto planned = model::tiny_model::plan(*params, *vocab);
    if (!planned) fail(planned.error().message);
    const auto& m = *planned;

    const fs::path out = o.out.empty() ? common::default_tiny_model_path() : fs::path(o.out);
    if (out.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(out.parent_path(), ec);
        if (ec) fail(fmt::format("cannot create {}: {}", out.parent_path().string(), ec.message()));
    }

    std::cerr << fmt::format(
        "writing {}: {} layers, width {}, {}/{} heads, ffn {}, ctx {}, vocab {}, {}, seed {} — "
        "{:.1f}M parameters, {}\n",
        out.string(), m.params().layers, m.params().width, m.params().heads, m.params().kv_heads,
        m.params().ffn, m.params().context, m.vocab_size(),
        m.params().type == model::tensor_type::f16 ? "f16" : "f32", m.params().seed,
        static_cast<double>(m.parameter_count()) / 1e6, human_bytes(m.file_size()));

    model::gguf_progress_fn progress;
    auto last_percent = std::make_shared<int>(-1);
    if (m.file_size() >= progress_threshold) {
        progress = [last_percent](uint64_t done, uint64_t total) {
            const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
            if (percent / 10 != *last_percent / 10) {
                *last_percent = percent;
                std::cerr << fmt::format("  {:3d}% ({})\n", percent, human_bytes(done));
            }
        };
    }
    if (auto ok = m.write(out, progress); !ok) fail(ok.error().message);
    std::cout << out.string() << "\n";
}

}  // namespace

void add_model_commands(CLI::App& app) {
    auto* model = app.add_subcommand(
        "model", "Models: the catalog (list, pull) and the tiny test model (make-tiny)");
    model->require_subcommand(1);
    add_model_catalog_commands(*model);
    auto* cmd = model->add_subcommand(
        "make-tiny",
        "Write a llama-architecture GGUF model with random weights (deterministic for a seed) and "
        "llama.cpp's SPM tokenizer, written to a temporary file and renamed into place. Prints the "
        "path as the last line.");
    auto o = std::make_shared<make_tiny_options>();
    cmd->add_option("--out", o->out, "Output file (default: <cache>/models/tiny.gguf)");
    cmd->add_option("--preset", o->preset,
                    "tiny: 2 layers, width 64, 4/4 heads, ffn 256, ctx 4096, f32 (~9 MB); "
                    "1b: 16 layers, width 2048, 32/8 heads, ffn 5632, f16 (~1.6 GB, for GPU "
                    "benchmarks). Other flags override the preset")
        ->check(CLI::IsMember({"tiny", "1b"}))
        ->capture_default_str();
    cmd->add_option("--layers", o->layers, "Transformer blocks")->check(CLI::Range(1, 1024));
    cmd->add_option("--width", o->width, "Embedding width (n_embd)")->check(CLI::Range(2, 1 << 16));
    cmd->add_option("--heads", o->heads, "Attention heads")->check(CLI::Range(1, 1024));
    cmd->add_option("--kv-heads", o->kv_heads, "Key/value heads (divides heads)")
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--ffn", o->ffn, "Feed-forward width")->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--ctx", o->ctx, "Training context length")->check(CLI::Range(1, 1 << 24));
    cmd->add_option("--vocab-size", o->vocab_size,
                    "Tokens in all: pads the tokenizer's vocabulary with unused tokens up to this "
                    "size (default: the tokenizer's 32000 plus 2 markers)")
        ->check(CLI::Range(1, 1 << 22));
    cmd->add_option("--seed", o->seed, "Seed of the random weights (default 42)");
    cmd->add_option("--type", o->type, "Type of the weight matrices (norms stay f32)")
        ->check(CLI::IsMember({"f32", "f16"}));
    cmd->add_option("--vocab", o->vocab,
                    "GGUF file to take the tokenizer.ggml.* keys from (default: llama.cpp's "
                    "ggml-vocab-llama-spm.gguf next to the engine build)");
    cmd->callback([o, cmd] { run_make_tiny(*o, *cmd); });
}

}  // namespace llorch::cli
