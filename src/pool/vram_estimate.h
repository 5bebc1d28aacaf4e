#pragma once
// How much memory an engine instance needs, as llama-server sizes it when it loads (calibrated
// against its own figures: docs/models.md, "Memory: fit and eviction"):
// - weights: the GGUF file's tensor data (the span the engine maps, alignment padding included);
// - KV cache: f16 K and V per layer for every cell, the cells counted as llama-server counts them
//   (the total context rounded up to 256, then per sequence rounded up to 256 when the cache is
//   not unified, which is how the launcher runs it: `-np slots -c ctx×slots`);
// - compute: the output buffer and logits (one token per slot; every token of the micro-batch
//   for an embeddings pool), the attention mask (f16, cells × micro-batch) and the activations of
//   one micro-batch (the larger of the attention and the feed-forward phase, by the model's width,
//   KV width and feed-forward width), plus a margin;
// - overhead: what the engine holds without reporting it (its process; on a GPU the CUDA context
//   and cuBLAS workspace), a fixed allowance.
// The VRAM policy (provisioner) and on-demand loads (residency) compare the total with a
// device's free memory before any engine starts. Pure except `estimate_vram(path, ...)`, which
// reads the GGUF header (blocking).

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/gguf_reader.h"
#include "pool/pool_error.h"

namespace llorch::pool {

struct vram_need {
    uint64_t weights_bytes = 0;
    uint64_t kv_bytes = 0;
    uint64_t overhead_bytes = 0;  // the engine's unreported memory (engine_allowance)
    uint64_t compute_bytes = 0;   // output, mask and activation buffers, margin included
    uint64_t total() const { return weights_bytes + kv_bytes + compute_bytes + overhead_bytes; }
};

// What the engine holds beyond the buffers it reports: on the CPU its process (measured, idle
// after loading: 12 to 17 MiB of resident memory above the buffers on the tiny and gqa-f16
// shapes); on a GPU the CUDA context and cuBLAS workspace (not measured here). Not counted:
// llama-server's prompt cache, host memory that grows with use up to `--cache-ram` (8192 MiB by
// default).
inline constexpr uint64_t engine_allowance = 256ull << 20;
// The compute buffers' margin over the calibrated figure: 1/8 of it plus 1 MiB.
inline constexpr uint64_t compute_margin_fixed = 1ull << 20;
inline constexpr uint64_t compute_margin_divisor = 8;

// The engine's settings that size its buffers; the defaults are how the launcher runs
// llama-server (engine_argv: no -b, -ub or --kv-unified; flash attention left on auto).
struct vram_options {
    int batch = 2048;  // -b
    int ubatch = 512;  // -ub
    bool kv_unified = false;
    // --embeddings (an embeddings pool): llama-server then caps the batch at the micro-batch and
    // computes the logits of every token of it (vocabulary × micro-batch × 4 bytes).
    bool embeddings = false;
    uint64_t allowance = engine_allowance;
};

// What of a model sizes the engine's buffers.
struct model_shape {
    uint64_t weights_bytes = 0;  // tensor data span
    uint64_t layers = 0;
    uint64_t width = 0;  // n_embd
    uint64_t heads = 0;
    uint64_t kv_heads = 0;
    uint64_t head_dim_k = 0;  // key_length, else width / heads
    uint64_t head_dim_v = 0;  // value_length, else width / heads
    uint64_t ffn = 0;         // feed_forward_length, else 4 × width
    uint64_t vocab = 0;
    uint64_t train_ctx = 0;  // context_length: what `-c 0` means
};

pool_result<model_shape> shape_of(const model::gguf_reader& r);

// The KV cache's layout as llama-server derives it from `-c` and `-np`.
struct kv_layout {
    uint64_t n_ctx = 0;    // cells in all
    uint64_t cells = 0;    // per stream (n_ctx_seq; n_ctx when unified)
    uint64_t streams = 0;  // slots, or 1 when unified
    uint64_t ubatch = 0;   // tokens of the worst-case micro-batch the engine reserves for
};
kv_layout engine_kv_layout(const model_shape& m, int ctx, int slots, const vram_options& o);

// ctx is per slot (per request); the engine gets `-c ctx×slots -np slots`.
vram_need estimate_vram(const model_shape& m, int ctx, int slots, const vram_options& o = {});
pool_result<vram_need> estimate_vram(const std::filesystem::path& model, int ctx, int slots,
                                     const vram_options& o = {});

}  // namespace llorch::pool
