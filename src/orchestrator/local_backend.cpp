#include "orchestrator/local_backend.h"

#include "pool/pool_names.h"

namespace llorch::orchestrator {

using pool::model_names;

local_backend::local_backend(pool::pool_manager& m, placement::placement_index& index)
    : m_(m), index_(index) {
    index_.upsert_node("", "");
}

void local_backend::sync() {
    for (const auto& s : m_.list()) update(s);
}

void local_backend::sync(const std::string& pool_id) {
    if (auto s = m_.status(pool_id)) {
        update(*s);
    } else if (auto ref = index_.find("", pool_id)) {
        index_.remove_pool(*ref);
    }
}

void local_backend::update(const pool::pool_snapshot& s) {
    index_.upsert_pool("", s.id, placement_state(s, model_names(s)));
}

boost::asio::awaitable<api::api_result<std::unique_ptr<pool::infer_stream>>> local_backend::open(
    placement::placement_decision where, engines::generation_request g) {
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
    auto l = m_.limits_for(model);
    if (!l) return std::nullopt;
    return model_limits{l->max_tokens_default, l->max_tokens_cap, l->ctx};
}

std::optional<std::string> local_backend::ensure_loaded(
    const std::string& model, std::optional<std::chrono::milliseconds> keep_alive,
    const model_demand&) {
    auto a = m_.ensure_loaded(model, keep_alive);
    if (!a || !a->loading) return std::nullopt;
    return a->pool_id;
}

void local_backend::want(const std::string& model) { m_.want(model); }

void local_backend::revive(const std::string& model) { m_.revive(model); }

std::string local_backend::load_failure(const std::string& model) const {
    return m_.load_failure(model);
}

api::api_result<void> local_backend::unload(const std::string& model) {
    auto r = m_.unload(model);
    if (!r) return r.error();
    return {};
}

}  // namespace llorch::orchestrator
