#include "pool/engine_launcher.h"

#include "common/paths.h"
#include "model/gguf_reader.h"

namespace llorch::pool {
namespace fs = std::filesystem;

fs::path engine_binary(const pool_config& c) {
    if (!c.engine_path.empty()) return c.engine_path;
    if (c.engine == engine_kind::sim) {
        // The simulator ships with llama-orch: next to this daemon's own binary.
        std::error_code ec;
        auto self_exe = fs::read_symlink("/proc/self/exe", ec);
        return ec ? fs::path("llorch-sim") : self_exe.parent_path() / "llorch-sim";
    }
    auto e = common::find_engine();
    return e ? *e : fs::path();
}

std::string embedding_pooling(const pool_config& c, const fs::path& model) {
    if (!c.pooling.empty()) return c.pooling;
    auto r = model::gguf_reader::open(model);
    if (r && r->find(std::string(r->architecture()) + ".pooling_type")) return {};
    return "mean";
}

std::vector<std::string> engine_argv(const pool_config& c, const engine_spec& s,
                                     const fs::path& engine, uint16_t port,
                                     const std::string& api_key) {
    std::vector<std::string> a{engine.string(),
                               "-m",
                               s.model,
                               "--host",
                               "127.0.0.1",
                               "--port",
                               std::to_string(port),
                               "-np",
                               std::to_string(s.slots),
                               "-c",
                               std::to_string(static_cast<long long>(c.ctx) * s.slots),
                               "--api-key",
                               api_key,
                               "--no-webui"};
    // Chat requests go through the model's own (Jinja) chat template: what tool calling and
    // structured output need. Current llama-server builds default to it; older ones do not.
    if (c.engine == engine_kind::llamacpp) a.push_back("--jinja");
    if (c.embeddings && c.engine == engine_kind::llamacpp) {
        a.push_back("--embeddings");
        if (!s.pooling.empty()) {
            a.push_back("--pooling");
            a.push_back(s.pooling);
        }
    }
    if (c.threads > 0) {
        a.push_back("-t");
        a.push_back(std::to_string(c.threads));
    }
    if (!c.gpus.empty()) {
        a.push_back("-ngl");
        a.push_back("999");
    }
    for (const auto& x : c.extra_args) a.push_back(x);
    return a;
}

}  // namespace llorch::pool
