#include "orchestrator/local_backend.h"

#include "pool/pool_names.h"

namespace llorch::orchestrator {

using pool::model_names;

local_backend::local_backend(pool::pool_manager& m, placement::placement_index& index)
    : m_(m), index_(index) {
    index_.upsert_node("", "");
}

void local_backend::sync() {
    for (const auto& s : m_.list()) {
        placement::pool_state st;
        st.models = model_names(s);
        st.engine = s.engine;
        st.ready = s.state == pool::pool_state::ready;
        st.draining = s.state == pool::pool_state::draining;
        st.slots_total = s.slots_total;
        st.slots_free = s.slots_free;
        st.vram_total_bytes = s.vram_total_bytes;
        st.vram_free_bytes = s.vram_free_bytes;
        index_.upsert_pool("", s.id, st);
    }
}

boost::asio::awaitable<expected<std::unique_ptr<pool::infer_stream>, api::error>>
local_backend::open(placement::placement_decision where, engines::generation_request g) {
    co_return m_.begin_infer(where.pool_id, std::move(g));
}

boost::asio::awaitable<std::optional<int>> local_backend::count_tokens(std::string model,
                                                                       std::string text) {
    for (const auto& s : m_.list()) {
        auto names = model_names(s);
        if (s.state != pool::pool_state::ready ||
            std::find(names.begin(), names.end(), model) == names.end())
            continue;
        co_return co_await m_.count_tokens(s.id, std::move(text));
    }
    co_return std::nullopt;
}

std::optional<model_limits> local_backend::limits(const std::string& model) const {
    std::optional<model_limits> out;
    for (const auto& s : m_.list()) {
        auto names = model_names(s);
        if (std::find(names.begin(), names.end(), model) == names.end()) continue;
        if (!out) {
            out = model_limits{s.max_tokens_default, s.max_tokens_cap, s.ctx};
        } else {
            out->max_tokens_cap = std::max(out->max_tokens_cap, s.max_tokens_cap);
            out->ctx = std::min(out->ctx, s.ctx);
        }
    }
    return out;
}

}  // namespace llorch::orchestrator
