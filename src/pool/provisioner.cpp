#include "pool/provisioner.h"

#include <algorithm>

#include "pool/engine_launcher.h"

namespace llorch::pool {
namespace fs = std::filesystem;

std::string_view to_string(provision_errc e) {
    switch (e) {
        case provision_errc::engine_not_built:
            return "engine_not_built";
        case provision_errc::engine_not_found:
            return "engine_not_found";
        case provision_errc::model_not_found:
            return "model_not_found";
        case provision_errc::no_gpu:
            return "no_gpu";
        case provision_errc::gpu_not_found:
            return "gpu_not_found";
        case provision_errc::vram_unknown:
            return "vram_unknown";
        case provision_errc::vram_insufficient:
            break;
    }
    return "vram_insufficient";
}

provision_facts gather_provision_facts(const pool_config& c, const std::string& model,
                                       bool runs_engine, gpu::gpu_inventory* inventory) {
    provision_facts f;
    f.runs_engine = runs_engine;
    if (!runs_engine) return f;
    f.engine = engine_binary(c);
    std::error_code ec;
    f.engine_exists = !f.engine.empty() && fs::exists(f.engine, ec);
    f.model_exists = fs::exists(model, ec);
    if (!c.gpus.empty()) {
        f.discovery = inventory ? inventory->discover() : gpu::discovery_result{};
        f.vram = estimate_vram(model, c.ctx, c.slots, vram_options{.embeddings = c.embeddings});
    }
    return f;
}

namespace {
provision_failure refuse(provision_errc code, std::string message) {
    return {code, std::move(message)};
}
}  // namespace

provision_result<provision_plan> check_provision(const pool_config& c, const std::string& model,
                                                 const provision_facts& f) {
    provision_plan plan;
    if (!f.runs_engine) return plan;
    if (f.engine.empty())
        return refuse(provision_errc::engine_not_built,
                      "llama-server is not built: run `make run` or scripts/build-engine.sh, or "
                      "set LLORCH_ENGINE / engine_path");
    if (!f.engine_exists)
        return refuse(provision_errc::engine_not_found, "engine not found at " + f.engine.string());
    // A simulated engine serves a model by name only.
    if (c.engine != engine_kind::sim && !f.model_exists)
        return refuse(
            provision_errc::model_not_found,
            "model file not found: " + model +
                (model.ends_with("tiny.gguf") ? " (create it with `llorch model make-tiny`)" : ""));
    if (c.gpus.empty()) return plan;
    const auto& found = f.discovery ? f.discovery->gpus : std::vector<gpu::gpu_info>{};
    if (found.empty())
        return refuse(provision_errc::no_gpu,
                      "POOL_UNAVAILABLE: device \"" + c.device +
                          "\" needs an NVIDIA GPU, but none was found (" +
                          (f.discovery ? f.discovery->reason : std::string("not asked")) +
                          "); use device = \"cpu\" on machines without one");
    uint64_t free_bytes = 0;
    for (int want : c.gpus) {
        auto it = std::find_if(found.begin(), found.end(),
                               [&](const gpu::gpu_info& g) { return g.index == want; });
        if (it == found.end())
            return refuse(provision_errc::gpu_not_found,
                          "POOL_UNAVAILABLE: GPU " + std::to_string(want) + " of device \"" +
                              c.device + "\" does not exist on this machine");
        plan.gpus.push_back(*it);
        free_bytes += it->memory_free_bytes;
    }
    // VRAM policy: weights plus the KV cache of every slot must fit the GPUs' free VRAM.
    if (!f.vram)
        return refuse(provision_errc::vram_unknown,
                      "POOL_UNAVAILABLE: the model's VRAM need was not estimated");
    if (!*f.vram)
        return refuse(provision_errc::vram_unknown, "POOL_UNAVAILABLE: " + f.vram->error().message);
    const auto& need = f.vram->value();
    if (need.total() > free_bytes)
        return refuse(provision_errc::vram_insufficient,
                      "POOL_UNAVAILABLE: the pool needs about " +
                          std::to_string(need.total() >> 20) + " MiB of VRAM (weights " +
                          std::to_string(need.weights_bytes >> 20) + " MiB, KV cache " +
                          std::to_string(need.kv_bytes >> 20) + " MiB for " +
                          std::to_string(c.slots) + " x " + std::to_string(c.ctx) +
                          " tokens) but its GPUs have " + std::to_string(free_bytes >> 20) +
                          " MiB free; lower slots or ctx, or use a bigger GPU");
    return plan;
}

}  // namespace llorch::pool
