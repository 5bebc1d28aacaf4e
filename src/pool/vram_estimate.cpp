#include "pool/vram_estimate.h"

#include "model/gguf_reader.h"

namespace llorch::pool {

pool_result<vram_need> estimate_vram(const std::filesystem::path& model, int ctx, int slots) {
    auto r = model::gguf_reader::open(model);
    if (!r)
        return pool_error{pool_errc::model_unreadable,
                          "cannot read " + model.string() + ": " + r.error().message};
    auto hp = r->hparams();
    if (!hp)
        return pool_error{
            pool_errc::model_unreadable,
            "cannot read the model's shape from " + model.string() + ": " + hp.error().message};
    vram_need n;
    n.weights_bytes = r->tensor_bytes();
    uint64_t heads = hp->head_count ? hp->head_count : 1;
    uint64_t head_dim = hp->embedding_length / heads;
    uint64_t kv_heads = hp->head_count_kv ? hp->head_count_kv : heads;
    uint64_t tokens =
        static_cast<uint64_t>(std::max(ctx, 1)) * static_cast<uint64_t>(std::max(slots, 1));
    n.kv_bytes = 2 /* K and V */ * hp->block_count * tokens * kv_heads * head_dim * 2 /* f16 */;
    n.overhead_bytes = vram_compute_allowance;
    return n;
}

}  // namespace llorch::pool
