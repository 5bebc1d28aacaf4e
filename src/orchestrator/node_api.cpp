#include "orchestrator/node_api.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "common/log.h"
#include "http/client.h"
#include "orchestrator/cloud_loads.h"
#include "orchestrator/pool_backend.h"
#include "pool/node_report.h"
#include "pool/pool_admin.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {
std::shared_ptr<spdlog::logger> nodes_log() {
    static auto l = common::logger("nodes");
    return l;
}

api::error invalid(std::string m) {
    return api::make_error(api::error_code::invalid_params, std::move(m));
}

// The registry's refusals as the API answers them: a malformed registration is INVALID_PARAMS
// (400); a node of a version this control plane cannot work with is a CONFLICT (409); more pools
// than the per-node cap is PAYLOAD_TOO_LARGE (413).
api::error registration_refused(const registry::registry_error& e) {
    switch (e.code) {
        case registry::registry_errc::incompatible_version:
            return api::make_error(api::error_code::conflict, e.message);
        case registry::registry_errc::too_many_pools:
            return api::make_error(api::error_code::payload_too_large, e.message);
        case registry::registry_errc::invalid_registration:
            break;
    }
    return api::make_error(api::error_code::invalid_params, e.message);
}
// More pools than the registry takes from one node: refused before any pool is parsed.
std::optional<api::error> too_many_pools(const json::object& o, size_t cap) {
    const auto* p = o.if_contains("pools");
    if (!p || !p->is_array() || p->get_array().size() <= cap) return std::nullopt;
    return api::make_error(api::error_code::payload_too_large,
                           "pools: " + std::to_string(p->get_array().size()) +
                               " pools; this control plane takes at most " + std::to_string(cap) +
                               " per node (ORCHESTRATORD_MAX_POOLS_PER_NODE)");
}

api::error no_node(const std::string& id) {
    return api::make_error(api::error_code::not_found, "no node '" + id + "'");
}

// The pools of a registration or heartbeat as the registry takes them. Whether an on-demand
// pool can start is cloud_loads' rule (its memory against the node's devices, a load asked for).
std::vector<registry::pool_report> registry_reports(
    const cloud_context& c, const std::string& node_id,
    const std::vector<pool::reported_pool>& pools, const std::vector<pool::device_report>& memory) {
    std::vector<registry::pool_report> out;
    for (const auto& p : pools) {
        registry::pool_report r;
        r.pool_id = p.pool.id;
        r.state = placement_state(p.pool, p.models);
        if (p.pool.on_demand) r.state.down = !c.backend->loads().can_start(node_id, p.pool, memory);
        out.push_back(std::move(r));
    }
    return out;
}

// Once the registry accepted the message (a heartbeat of an unknown or replaced registration
// must not bring back the pools that are gone): each pool's request limits, and its report for
// the pool routes.
void accept_pools(cloud_context& c, const std::string& node_id,
                  const std::vector<pool::reported_pool>& pools,
                  const std::vector<pool::device_report>& memory) {
    c.backend->loads().report(node_id, pools, memory);
    for (const auto& p : pools)
        c.backend->set_pool_limits(node_id, p.pool.id, p.models,
                                   model_limits{.max_tokens_default = p.pool.max_tokens_default,
                                                .max_tokens_cap = p.pool.max_tokens_cap,
                                                .ctx = p.pool.ctx});
    c.pools->remember(node_id, pools);
    c.tasks->wake();
}

json::object node_json(const registry::node_record& n, const registry::node_registry& reg) {
    json::array pools;
    for (const auto& p : n.pools) pools.push_back(json::value(p.pool_id));
    auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - n.last_heartbeat)
                   .count();
    return json::object{{"node_id", n.node_id},
                        {"machine_id", n.machine_id},
                        {"address", n.address},
                        {"version", n.version},
                        {"state", registry::to_string(n.state)},
                        {"epoch", n.epoch},
                        {"heartbeat_interval_ms", n.heartbeat_interval.count()},
                        {"timeout_ms", reg.timeout_of(n).count()},
                        {"last_heartbeat_ms_ago", ago},
                        {"pools", pools}};
}

}  // namespace

asio::awaitable<response> node_api::register_node(request q) {
    auto o = api::parse_json_body(q.body);
    if (!o) co_return error_reply(o.error(), q);
    if (auto e = too_many_pools(*o, c_.reg->max_pools_per_node())) co_return error_reply(*e, q);
    auto b = pool::parse_registration(*o);
    if (!b) co_return error_reply(b.error(), q);
    if (b->node_id.empty() || b->address.empty())
        co_return error_reply(invalid("node_id and address (the node's URL) are required"), q);
    if (!http::parse_url(b->address))
        co_return error_reply(invalid("address: '" + b->address + "' is not an http(s):// URL"), q);
    registry::node_registration reg{
        b->node_id, b->machine_id,         b->address,
        b->version, b->heartbeat_interval, registry_reports(c_, b->node_id, b->pools, b->memory)};
    auto epoch = c_.reg->register_node(reg, std::chrono::steady_clock::now());
    if (!epoch) co_return error_reply(registration_refused(epoch.error()), q);
    // A registration replaces the node's pools, limits included.
    c_.backend->forget_node(reg.node_id);
    accept_pools(c_, reg.node_id, b->pools, b->memory);
    c_.files->forget(reg.node_id);
    c_.files->remember(reg.node_id, b->catalog);
    if (c_.servers) {  // a registration starts the node's record over, as its pools
        c_.servers->forget_node(reg.node_id);
        c_.servers->node_probe(reg.node_id, true);
    }
    nodes_log()->info("node_id={} registered from {} (epoch {}, {} pools, version {})", reg.node_id,
                      reg.address, *epoch, reg.pools.size(), reg.version);
    json::object out{{"node_id", reg.node_id},
                     {"epoch", *epoch},
                     {"next_heartbeat_ms", reg.heartbeat_interval.count()}};
    co_return response::json(200, json::serialize(out));
}

asio::awaitable<response> node_api::heartbeat(request q) {
    auto o = api::parse_json_body(q.body);
    if (!o) co_return error_reply(o.error(), q);
    if (auto e = too_many_pools(*o, c_.reg->max_pools_per_node())) co_return error_reply(*e, q);
    auto b = pool::parse_heartbeat(*o);
    if (!b) co_return error_reply(b.error(), q);
    const auto& id = q.params[0];
    auto r = c_.reg->heartbeat(id, registry_reports(c_, id, b->pools, b->memory),
                               std::chrono::steady_clock::now(), b->epoch);
    switch (r.status) {
        case registry::heartbeat_status::unknown_node:
            co_return error_reply(api::make_error(api::error_code::not_found,
                                                  "unknown node '" + id + "': register again"),
                                  q);
        case registry::heartbeat_status::stale_epoch:
            co_return error_reply(
                api::make_error(api::error_code::conflict,
                                "heartbeat from an older registration of '" + id + "'"),
                q);
        case registry::heartbeat_status::too_many_pools:
            co_return error_reply(
                api::make_error(api::error_code::payload_too_large,
                                "pools: the heartbeat of node '" + id + "' lists " +
                                    std::to_string(b->pools.size()) +
                                    " pools; this control plane takes at most " +
                                    std::to_string(c_.reg->max_pools_per_node()) +
                                    " per node (ORCHESTRATORD_MAX_POOLS_PER_NODE)"),
                q);
        case registry::heartbeat_status::accepted:
            break;
    }
    accept_pools(c_, id, b->pools, b->memory);
    c_.files->remember(id, b->catalog);
    if (c_.servers) {
        c_.servers->node_probe(id, true);
        for (const auto& p : b->pools)
            c_.servers->pool_reported(id, p.pool.id,
                                      p.pool.state == pool::pool_state::failed ||
                                          p.pool.state == pool::pool_state::offline);
    }
    co_return response::json(
        200, json::serialize(json::object{{"next_heartbeat_ms", r.next_heartbeat.count()}}));
}

asio::awaitable<response> node_api::deregister(request q) {
    if (!c_.reg->deregister(q.params[0])) co_return error_reply(no_node(q.params[0]), q);
    c_.backend->forget_node(q.params[0]);
    if (c_.servers) c_.servers->forget_node(q.params[0]);
    c_.pools->forget(q.params[0]);
    c_.files->forget(q.params[0]);
    nodes_log()->info("node_id={} deregistered", q.params[0]);
    co_return response::no_content();
}

asio::awaitable<response> node_api::list_nodes(request) {
    json::array a;
    for (const auto& [id, n] : c_.reg->nodes()) a.push_back(node_json(n, *c_.reg));
    co_return response::json(200, json::serialize(json::object{{"nodes", a}}));
}

// Drains the node (no new work) and each of its pools, with the pool routes' rule for the body.
asio::awaitable<response> node_api::drain_node(request q) {
    std::string node = q.params[0];
    auto* n = c_.reg->find(node);
    if (!n) co_return error_reply(no_node(node), q);
    auto o = api::parse_json_body(q.body);
    if (!o) co_return error_reply(o.error(), q);
    auto deadline = api::duration_ms_field(*o, "deadline_ms", pool::default_drain_deadline,
                                           std::chrono::milliseconds(0), pool::max_drain_deadline);
    if (!deadline) co_return error_reply(deadline.error(), q);
    c_.reg->drain(node);
    std::vector<std::string> pools;
    for (const auto& p : n->pools) pools.push_back(node + "/" + p.pool_id);
    for (const auto& p : pools) {
        auto r = co_await c_.pools->drain(p, *deadline);
        if (!r) nodes_log()->warn("node_id={} cannot drain {}: {}", node, p, r.error().message);
    }
    n = c_.reg->find(node);
    if (!n) co_return error_reply(no_node(node), q);
    co_return response::json(202, json::serialize(node_json(*n, *c_.reg)));
}

}  // namespace llorch::orchestrator
