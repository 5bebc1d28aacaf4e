#include "pool/vram_estimate.h"

#include <algorithm>

#include <fmt/format.h>

namespace llorch::pool {

namespace {

constexpr uint64_t pad(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// llama.cpp rounds the context to whole 256-cell blocks (llama_context: n_ctx, n_ctx_seq). Older
// builds padded the attention mask's rows to 64 (GGML_KQ_MASK_PAD); the pinned one does not, so
// padding here is a few KiB of margin that keeps the estimate good for both.
constexpr uint64_t ctx_block = 256;
constexpr uint64_t mask_row_pad = 64;
// Per token of the micro-batch, the graph's small inputs (token ids, positions, output ids, ...)
// in floats: the measured activations exceed the phase formulas by up to 5.
constexpr uint64_t input_floats_per_token = 8;

}  // namespace

pool_result<model_shape> shape_of(const model::gguf_reader& r) {
    auto hp = r.hparams();
    if (!hp) return pool_error{pool_errc::model_unreadable, hp.error().message};
    model_shape m;
    for (const auto& t : r.tensors())
        m.weights_bytes = std::max(m.weights_bytes, t.offset + t.n_bytes);
    m.layers = hp->block_count;
    m.width = hp->embedding_length;
    m.heads = std::max<uint64_t>(hp->head_count, 1);
    m.kv_heads = hp->head_count_kv ? hp->head_count_kv : m.heads;
    auto key = [&r, &hp](std::string_view name) -> uint64_t {
        const auto* v = r.find(fmt::format("{}.{}", hp->architecture, name));
        auto u = v ? v->get_uint() : std::nullopt;
        return u ? *u : 0;
    };
    m.head_dim_k = key("attention.key_length");
    m.head_dim_v = key("attention.value_length");
    if (!m.head_dim_k) m.head_dim_k = m.width / m.heads;
    if (!m.head_dim_v) m.head_dim_v = m.width / m.heads;
    m.ffn = hp->feed_forward_length.value_or(4 * m.width);
    m.vocab = hp->vocab_size.value_or(0);
    m.train_ctx = hp->context_length;
    return m;
}

kv_layout engine_kv_layout(const model_shape& m, int ctx, int slots, const vram_options& o) {
    const uint64_t n_seq = static_cast<uint64_t>(std::max(slots, 1));
    // The launcher passes -c ctx×slots; -c 0 means the model's training context.
    const uint64_t asked =
        ctx > 0 ? static_cast<uint64_t>(ctx) * n_seq : std::max<uint64_t>(m.train_ctx, 1);
    kv_layout k;
    // The batch is capped by the context before the context is rounded up.
    k.ubatch = std::min({asked, static_cast<uint64_t>(std::max(o.batch, 1)),
                         static_cast<uint64_t>(std::max(o.ubatch, 1))});
    k.n_ctx = pad(asked, ctx_block);
    if (o.kv_unified) {
        k.cells = k.n_ctx;
        k.streams = 1;
    } else {
        k.cells = pad(k.n_ctx / n_seq, ctx_block);
        k.streams = n_seq;
        k.n_ctx = k.cells * n_seq;
    }
    return k;
}

vram_need estimate_vram(const model_shape& m, int ctx, int slots, const vram_options& o) {
    const auto k = engine_kv_layout(m, ctx, slots, o);
    const uint64_t slot_count = static_cast<uint64_t>(std::max(slots, 1));
    // Outputs the graph computes: one token per slot; with embeddings every token of the batch.
    const uint64_t outputs = o.embeddings ? std::max(k.ubatch, slot_count) : slot_count;
    vram_need n;
    n.weights_bytes = m.weights_bytes;
    // f16 K and V for every layer and cell.
    n.kv_bytes = m.layers * k.cells * k.streams * m.kv_heads * (m.head_dim_k + m.head_dim_v) * 2;
    // The host output buffer: logits (and embeddings) of one token per slot.
    const uint64_t output_buffer = (m.vocab + m.width) * slot_count * 4;
    // The attention mask (f16 with flash attention): every cell of a stream × the micro-batch.
    const uint64_t mask = k.cells * pad(k.ubatch, mask_row_pad) * 2;
    // f32 activations of one micro-batch at the largest phase of the graph: attention holds
    // about five model-width tensors and a K-width one per token, the feed-forward phase four
    // model-width ones and three feed-forward-width ones (gate, up, their product), the output
    // phase the logits of every output and three model-width tensors per token.
    const uint64_t q_width = std::max(m.width, m.heads * m.head_dim_k);
    const uint64_t kv_width = m.kv_heads * m.head_dim_k;
    const uint64_t attention = 4 * m.width + q_width + kv_width;
    const uint64_t feed_forward = 4 * m.width + 3 * m.ffn;
    const uint64_t layers_phase =
        k.ubatch * 4 * (std::max(attention, feed_forward) + input_floats_per_token);
    const uint64_t output_phase = (m.vocab * outputs + 3 * m.width * k.ubatch) * 4;
    const uint64_t compute = output_buffer + mask + std::max(layers_phase, output_phase);
    n.compute_bytes = compute + compute / compute_margin_divisor + compute_margin_fixed;
    n.overhead_bytes = o.allowance;
    return n;
}

pool_result<vram_need> estimate_vram(const std::filesystem::path& model, int ctx, int slots,
                                     const vram_options& o) {
    auto r = model::gguf_reader::open(model);
    if (!r)
        return pool_error{pool_errc::model_unreadable,
                          "cannot read " + model.string() + ": " + r.error().message};
    auto shape = shape_of(*r);
    if (!shape)
        return pool_error{
            pool_errc::model_unreadable,
            "cannot read the model's shape from " + model.string() + ": " + shape.error().message};
    return estimate_vram(*shape, ctx, slots, o);
}

}  // namespace llorch::pool
