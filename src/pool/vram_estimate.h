#pragma once
// How much GPU memory a pool needs: the model's weights (from the GGUF file's tensor sizes) plus
// its KV cache for every slot's context (f16 K and V per layer, grouped-query heads counted)
// plus a fixed allowance for the engine's compute buffers. The VRAM policy compares it with the
// pool's GPUs' free memory before any engine starts.

#include <cstdint>
#include <filesystem>
#include <string>

#include "pool/pool_error.h"

namespace llorch::pool {

struct vram_need {
    uint64_t weights_bytes = 0;
    uint64_t kv_bytes = 0;
    uint64_t overhead_bytes = 0;
    uint64_t total() const { return weights_bytes + kv_bytes + overhead_bytes; }
};

inline constexpr uint64_t vram_compute_allowance = 256ull << 20;

// ctx is per slot (per request); the engine holds ctx × slots tokens of KV cache.
pool_result<vram_need> estimate_vram(const std::filesystem::path& model, int ctx, int slots);

}  // namespace llorch::pool
