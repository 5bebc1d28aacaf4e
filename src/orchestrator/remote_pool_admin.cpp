#include "orchestrator/remote_pool_admin.h"

#include <boost/json.hpp>

#include "pool/pool_snapshot_json.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using pool::pool_view;

api::error node_error(int status, const std::string& body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    auto e = api::make_error(api::error_code::upstream_failed,
                             "the node answered " + std::to_string(status));
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        if (auto* c = o.if_contains("code"); c && c->is_string())
            e.code = api::error_code_from_string(c->get_string()).value_or(e.code);
        if (auto* m = o.if_contains("message"); m && m->is_string()) e.message = m->get_string();
    }
    return e;
}

namespace {

std::string key(const std::string& node_id, const std::string& pool_id) {
    return node_id + "/" + pool_id;
}

// What the index knows of a pool whose node has not reported it in full.
pool::pool_snapshot snapshot_of(const placement::pool_entry& e) {
    pool::pool_snapshot s;
    s.id = e.pool_id;
    if (!e.state.models.empty()) s.name = e.state.models.front();
    s.engine = e.state.engine;
    s.state = e.state.draining ? pool::pool_state::draining
              : e.state.ready  ? pool::pool_state::ready
                               : pool::pool_state::uninitialized;
    s.slots_total = e.state.slots_total;
    s.slots_free = e.state.slots_free;
    s.vram_total_bytes = e.state.vram_total_bytes;
    s.vram_free_bytes = e.state.vram_free_bytes;
    return s;
}

}  // namespace

remote_pool_admin::remote_pool_admin(registry::node_registry& reg,
                                     const placement::placement_index& index,
                                     cloud_backend& backend)
    : reg_(reg), index_(index), backend_(backend) {}

void remote_pool_admin::remember(const std::string& node_id,
                                 const std::vector<pool::reported_pool>& pools) {
    forget(node_id);
    for (const auto& p : pools) reported_[key(node_id, p.pool.id)] = p;
}

void remote_pool_admin::forget(const std::string& node_id) {
    auto prefix = node_id + "/";
    for (auto it = reported_.lower_bound(prefix);
         it != reported_.end() && it->first.starts_with(prefix);)
        it = reported_.erase(it);
}

pool_view remote_pool_admin::view_of(const placement::pool_entry& e) const {
    pool_view v;
    if (auto it = reported_.find(key(e.node_id, e.pool_id)); it != reported_.end()) {
        v.pool = it->second.pool;
        v.models = it->second.models;
    } else {
        v.pool = snapshot_of(e);
        v.models = e.state.models;
    }
    const auto* n = reg_.find(e.node_id);
    v.placement = pool_view::placement_facts{
        .node_id = e.node_id,
        .node_state = n ? std::string(registry::to_string(n->state)) : std::string("unknown"),
        .node_available = e.node_available,
        .in_flight = e.in_flight,
        .slots_free = e.free_slots(),
        .breaker_open = e.breaker_open};
    return v;
}

std::vector<pool_view> remote_pool_admin::list() const {
    std::vector<pool_view> out;
    index_.for_each_pool(
        [&](placement::pool_ref, const placement::pool_entry& e) { out.push_back(view_of(e)); });
    return out;
}

asio::awaitable<api::api_result<pool_view>> remote_pool_admin::call_owner(std::string pool,
                                                                          std::string method,
                                                                          std::string suffix,
                                                                          std::string body) {
    auto ref = index_.find(pool);
    const auto* e = ref ? index_.find(*ref) : nullptr;
    if (!e) co_return api::make_error(api::error_code::not_found, "no pool '" + pool + "'");
    // Copied: the entry may change while the node answers.
    auto node_id = e->node_id, pool_id = e->pool_id;
    auto r = co_await backend_.forward(node_id, method, "/v2/pools/" + pool_id + suffix,
                                       std::move(body));
    if (!r) co_return r.error();
    int status = r->first;
    std::string answer = std::move(r->second);
    if (status < 200 || status >= 300) co_return node_error(status, answer);
    boost::system::error_code ec;
    auto v = json::parse(answer, ec);
    auto s = ec ? api::api_result<pool::pool_snapshot>(node_error(502, answer))
                : pool::pool_snapshot_from_json(v);
    if (!s) co_return s.error();
    // The node's fresh snapshot, with what the control plane knows of the pool now.
    ref = index_.find(node_id, pool_id);
    e = ref ? index_.find(*ref) : nullptr;
    auto out = e ? view_of(*e) : pool_view{};
    out.pool = std::move(*s);
    if (out.models.empty()) out.models = pool::report_of(out.pool).models;
    co_return out;
}

asio::awaitable<api::api_result<pool_view>> remote_pool_admin::status(std::string pool) {
    co_return co_await call_owner(std::move(pool), "GET", "/status", {});
}

asio::awaitable<api::api_result<pool_view>> remote_pool_admin::drain(
    std::string pool, std::chrono::milliseconds deadline) {
    auto body = json::serialize(json::object{{"deadline_ms", deadline.count()}});
    co_return co_await call_owner(std::move(pool), "POST", "/drain", std::move(body));
}

asio::awaitable<api::api_result<pool_view>> remote_pool_admin::reload(std::string pool,
                                                                      std::string model_ref) {
    auto body = json::serialize(json::object{{"new_model_ref", model_ref}});
    co_return co_await call_owner(std::move(pool), "POST", "/reload", std::move(body));
}

}  // namespace llorch::orchestrator
