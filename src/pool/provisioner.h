#pragma once
// provisioner: what must hold before a pool's engines can start — the engine binary, the model
// file, the GPUs of its device, and the VRAM policy (weights plus every slot's KV cache must fit
// the GPUs' free memory). Split in two so the rule is pure:
// - gather_provision_facts() looks at the machine (stat, GGUF header, GPU discovery through
//   NVML or nvidia-smi); it blocks, and the pool manager runs it on its blocking pool;
// - check_provision() decides from those facts alone, with one provision_errc per reason and a
//   message that says what to do.
// No state; any thread.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "common/module_error.h"
#include "gpu/gpu_inventory.h"
#include "pool/pool_config.h"
#include "pool/vram_estimate.h"

namespace llorch::pool {

enum class provision_errc {
    engine_not_built,   // no engine_path and no llama-server built
    engine_not_found,   // the engine binary is not there
    model_not_found,    // the GGUF file is not there
    no_gpu,             // a GPU pool on a machine without an NVIDIA GPU
    gpu_not_found,      // the device names a GPU index this machine lacks
    vram_unknown,       // the model's VRAM need cannot be estimated (unreadable GGUF)
    vram_insufficient,  // the GPUs' free VRAM is less than the pool needs
};

std::string_view to_string(provision_errc e);

// The message is one line, with what to do; POOL_UNAVAILABLE: for GPU reasons.
using provision_failure = common::module_error<provision_errc>;

template <class T>
using provision_result = boost::system::result<T, provision_failure>;

// What the checks look at, as found on this machine.
struct provision_facts {
    bool runs_engine = true;       // false: the engine runs elsewhere and nothing is checked
    std::filesystem::path engine;  // empty: none built
    bool engine_exists = false;
    bool model_exists = false;
    std::optional<gpu::discovery_result> discovery;  // GPU pools only
    std::optional<pool_result<vram_need>> vram;      // GPU pools only
};

// What a pool may start with: the GPUs its device names, as discovered.
struct provision_plan {
    std::vector<gpu::gpu_info> gpus;
};

// Blocks: stats files, reads the GGUF header and, for GPU pools, asks `inventory`.
provision_facts gather_provision_facts(const pool_config& c, const std::string& model,
                                       bool runs_engine, gpu::gpu_inventory* inventory);

// The decision, from the facts alone.
provision_result<provision_plan> check_provision(const pool_config& c, const std::string& model,
                                                 const provision_facts& facts);

}  // namespace llorch::pool
