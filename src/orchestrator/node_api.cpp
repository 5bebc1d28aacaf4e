#include "orchestrator/node_api.h"

#include <map>

#include <boost/json.hpp>

#include "common/log.h"
#include "http/client.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {
std::shared_ptr<spdlog::logger> log() {
    static auto l = common::logger("nodes");
    return l;
}

response err(const api::error& e, const request& q) {
    return response::from_error(e, q.correlation_id);
}
api::error invalid(std::string m) {
    return api::make_error(api::error_code::invalid_params, std::move(m));
}

expected<json::object, api::error> body_object(const request& q) {
    boost::system::error_code ec;
    auto v = json::parse(q.body, ec);
    if (ec || !v.is_object()) return fail(invalid("the request body must be a JSON object"));
    return std::move(v.get_object());
}

long long int_or(const json::object& o, const char* k, long long d) {
    auto* v = o.if_contains(k);
    if (!v) return d;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<long long>(v->get_uint64());
    if (v->is_double()) return static_cast<long long>(v->get_double());
    return d;
}
bool bool_or(const json::object& o, const char* k, bool d) {
    auto* v = o.if_contains(k);
    return v && v->is_bool() ? v->get_bool() : d;
}
std::string str_or(const json::object& o, const char* k) {
    auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The pools of a registration or heartbeat: what the registry takes, and each pool's request
// limits, which the backend takes only once the registry accepted the message (a heartbeat of an
// unknown or replaced registration must not bring back the limits of pools that are gone).
struct parsed_pools {
    std::vector<registry::pool_report> reports;
    std::vector<model_limits> limits;  // one per report

    void apply_limits(cloud_backend& b, const std::string& node_id) const {
        for (size_t i = 0; i < reports.size(); ++i)
            b.set_pool_limits(node_id, reports[i].pool_id, reports[i].state.models, limits[i]);
    }
};

// One pool of a registration or heartbeat.
expected<std::pair<registry::pool_report, model_limits>, api::error> parse_pool(
    const json::value& v) {
    auto* o = v.if_object();
    if (!o) return fail(invalid("pools: each pool must be an object"));
    registry::pool_report r;
    r.pool_id = str_or(*o, "pool_id");
    if (r.pool_id.empty()) r.pool_id = str_or(*o, "id");
    if (r.pool_id.empty()) return fail(invalid("pools: a pool has no pool_id"));
    auto& st = r.state;
    if (auto* m = o->if_contains("models"); m && m->is_array()) {
        for (const auto& x : m->get_array())
            if (x.is_string()) st.models.emplace_back(x.get_string());
    }
    for (const char* k : {"name", "model"}) {
        auto s = str_or(*o, k);
        if (!s.empty() && std::find(st.models.begin(), st.models.end(), s) == st.models.end())
            st.models.push_back(s);
    }
    st.engine = str_or(*o, "engine");
    st.ready = bool_or(*o, "ready", false);
    st.draining = bool_or(*o, "draining", false);
    st.slots_total = static_cast<int>(int_or(*o, "slots_total", 0));
    st.slots_free = static_cast<int>(int_or(*o, "slots_free", 0));
    st.vram_total_bytes = static_cast<uint64_t>(int_or(*o, "vram_total_bytes", 0));
    st.vram_free_bytes = static_cast<uint64_t>(int_or(*o, "vram_free_bytes", 0));
    model_limits l;
    l.ctx = static_cast<int>(int_or(*o, "ctx", 0));
    l.max_tokens_default = static_cast<int>(int_or(*o, "max_tokens_default", 256));
    l.max_tokens_cap = static_cast<int>(int_or(*o, "max_tokens_cap", 4096));
    return std::make_pair(std::move(r), l);
}

expected<parsed_pools, api::error> parse_pools(const json::object& o) {
    parsed_pools out;
    auto* p = o.if_contains("pools");
    if (!p) return out;
    if (!p->is_array()) return fail(invalid("pools: must be an array"));
    for (const auto& v : p->get_array()) {
        auto r = parse_pool(v);
        if (!r) return fail(r.error());
        const auto& id = r->first.pool_id;
        for (const auto& x : out.reports)
            if (x.pool_id == id) return fail(invalid("pools: pool_id '" + id + "' twice"));
        out.reports.push_back(std::move(r->first));
        out.limits.push_back(r->second);
    }
    return out;
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

// "node/pool" or a bare pool id → the owning node and the node's pool id.
std::optional<std::pair<std::string, std::string>> owner(const placement::placement_index& index,
                                                         const std::string& name) {
    auto ref = index.find(name);
    if (!ref) return std::nullopt;
    auto* e = index.find(*ref);
    if (!e) return std::nullopt;
    return std::make_pair(e->node_id, e->pool_id);
}

asio::awaitable<response> forward_pool(cloud_context c, request q, std::string suffix) {
    auto o = owner(*c.index, q.params[0]);
    if (!o)
        co_return err(api::make_error(api::error_code::not_found, "no pool '" + q.params[0] + "'"),
                      q);
    auto r =
        co_await c.backend->forward(o->first, q.method, "/v2/pools/" + o->second + suffix, q.body);
    if (!r) co_return err(r.error(), q);
    co_return response::json(r->first, std::move(r->second));
}
}  // namespace

void add_node_routes(http::router& routes, cloud_context c) {
    const http::route_options service{.public_route = false, .service_route = true};
    routes.add(
        "POST", "/v2/nodes/register",
        [c](request q) -> asio::awaitable<response> {
            auto o = body_object(q);
            if (!o) co_return err(o.error(), q);
            registry::node_registration reg;
            reg.node_id = str_or(*o, "node_id");
            reg.machine_id = str_or(*o, "machine_id");
            reg.address = str_or(*o, "address");
            reg.version = str_or(*o, "version");
            auto interval = int_or(*o, "heartbeat_interval_ms", 10'000);
            if (interval < 10 || interval > 3'600'000)
                co_return err(invalid("heartbeat_interval_ms: must be between 10 and 3600000"), q);
            reg.heartbeat_interval = std::chrono::milliseconds(interval);
            if (reg.node_id.empty() || reg.address.empty())
                co_return err(invalid("node_id and address (the node's URL) are required"), q);
            if (!http::parse_url(reg.address))
                co_return err(invalid("address: '" + reg.address + "' is not an http(s):// URL"),
                              q);
            auto pools = parse_pools(*o);
            if (!pools) co_return err(pools.error(), q);
            reg.pools = pools->reports;
            auto epoch = c.reg->register_node(reg, std::chrono::steady_clock::now());
            if (!epoch) {
                auto e = invalid(epoch.error().message);
                e.status = 409;
                co_return err(e, q);
            }
            // A registration replaces the node's pools, limits included.
            c.backend->forget_node(reg.node_id);
            pools->apply_limits(*c.backend, reg.node_id);
            log()->info("node_id={} registered from {} (epoch {}, {} pools, version {})",
                        reg.node_id, reg.address, *epoch, reg.pools.size(), reg.version);
            c.tasks->wake();
            json::object out{{"node_id", reg.node_id},
                             {"epoch", *epoch},
                             {"next_heartbeat_ms", reg.heartbeat_interval.count()}};
            co_return response::json(200, json::serialize(out));
        },
        service);
    routes.add(
        "POST", "/v2/nodes/{id}/heartbeat",
        [c](request q) -> asio::awaitable<response> {
            auto o = body_object(q);
            if (!o) co_return err(o.error(), q);
            auto pools = parse_pools(*o);
            if (!pools) co_return err(pools.error(), q);
            std::optional<uint64_t> epoch;
            if (auto* e = o->if_contains("epoch"); e && (e->is_int64() || e->is_uint64()))
                epoch = e->is_uint64() ? e->get_uint64() : static_cast<uint64_t>(e->get_int64());
            auto r = c.reg->heartbeat(q.params[0], pools->reports, std::chrono::steady_clock::now(),
                                      epoch);
            switch (r.status) {
                case registry::heartbeat_status::unknown_node: {
                    auto e = api::make_error(api::error_code::not_found,
                                             "unknown node '" + q.params[0] + "': register again");
                    co_return err(e, q);
                }
                case registry::heartbeat_status::stale_epoch: {
                    auto e = api::make_error(
                        api::error_code::conflict,
                        "heartbeat from an older registration of '" + q.params[0] + "'");
                    co_return err(e, q);
                }
                case registry::heartbeat_status::accepted:
                    break;
            }
            pools->apply_limits(*c.backend, q.params[0]);
            c.tasks->wake();
            co_return response::json(
                200,
                json::serialize(json::object{{"next_heartbeat_ms", r.next_heartbeat.count()}}));
        },
        service);
    routes.add(
        "DELETE", "/v2/nodes/{id}",
        [c](request q) -> asio::awaitable<response> {
            if (!c.reg->deregister(q.params[0]))
                co_return err(
                    api::make_error(api::error_code::not_found, "no node '" + q.params[0] + "'"),
                    q);
            c.backend->forget_node(q.params[0]);
            log()->info("node_id={} deregistered", q.params[0]);
            co_return response::no_content();
        },
        service);
    routes.add("GET", "/v2/nodes", [c](request) -> asio::awaitable<response> {
        json::array a;
        for (const auto& [id, n] : c.reg->nodes()) a.push_back(node_json(n, *c.reg));
        co_return response::json(200, json::serialize(json::object{{"nodes", a}}));
    });
    routes.add("POST", "/v2/nodes/{id}/drain", [c](request q) -> asio::awaitable<response> {
        auto* n = c.reg->find(q.params[0]);
        if (!n)
            co_return err(
                api::make_error(api::error_code::not_found, "no node '" + q.params[0] + "'"), q);
        c.reg->drain(q.params[0]);
        std::vector<std::string> pools;
        for (const auto& p : n->pools) pools.push_back(p.pool_id);
        std::string node = q.params[0];
        for (const auto& p : pools)
            co_await c.backend->forward(node, "POST", "/v2/pools/" + p + "/drain",
                                        q.body.empty() ? std::string("{}") : q.body);
        co_return response::json(202, json::serialize(node_json(*c.reg->find(node), *c.reg)));
    });
    routes.add("GET", "/v2/catalog/availability", [c](request) -> asio::awaitable<response> {
        // Which node holds which model: every name a pool answers to, with where it is served.
        json::object models;
        c.index->for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
            if (e.state.models.empty()) return;
            auto& entry = models[e.state.models.front()];
            if (!entry.is_array()) entry = json::array{};
            entry.as_array().push_back(json::object{{"node_id", e.node_id},
                                                    {"pool_id", e.pool_id},
                                                    {"ready", e.state.ready && e.node_available}});
        });
        co_return response::json(200, json::serialize(json::object{{"models", models}}));
    });
    routes.add("GET", "/v2/catalog/models", [c](request) -> asio::awaitable<response> {
        std::map<std::string, json::object> models;
        c.index->for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
            if (e.state.models.empty()) return;
            auto& m = models[e.state.models.front()];
            if (m.empty()) {
                json::array names;
                for (const auto& n : e.state.models) names.push_back(json::value(n));
                m = json::object{{"name", e.state.models.front()},
                                 {"names", names},
                                 {"engine", e.state.engine},
                                 {"pools", json::array{}}};
            }
            m["pools"].as_array().push_back(json::value(e.name()));
        });
        json::array out;
        for (auto& [n, m] : models) out.push_back(std::move(m));
        co_return response::json(200, json::serialize(json::object{{"models", out}}));
    });
    routes.add("GET", "/v2/pools", [c](request) -> asio::awaitable<response> {
        json::array a;
        c.index->for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
            const auto* n = c.reg->find(e.node_id);
            json::array models;
            for (const auto& m : e.state.models) models.push_back(json::value(m));
            a.push_back(json::object{{"id", e.name()},
                                     {"pool_id", e.pool_id},
                                     {"node_id", e.node_id},
                                     {"node_state", n ? registry::to_string(n->state) : "unknown"},
                                     {"name", e.state.models.empty() ? "" : e.state.models.front()},
                                     {"models", models},
                                     {"engine", e.state.engine},
                                     {"state", e.state.draining ? "draining"
                                               : e.state.ready  ? "ready"
                                                                : "not-ready"},
                                     {"ready", e.state.ready},
                                     {"draining", e.state.draining},
                                     {"slots_total", e.state.slots_total},
                                     {"slots_free", e.free_slots()},
                                     {"in_flight", e.in_flight},
                                     {"breaker_open", e.breaker_open},
                                     {"vram_free_bytes", e.state.vram_free_bytes}});
        });
        co_return response::json(200, json::serialize(json::object{{"pools", a}}));
    });
    routes.add("GET", "/v2/pools/{id}/status",
               [c](request q) { return forward_pool(c, std::move(q), "/status"); });
    routes.add("GET", "/v2/pools/{id}/health",
               [c](request q) { return forward_pool(c, std::move(q), "/health"); });
    routes.add("POST", "/v2/pools/{id}/drain",
               [c](request q) { return forward_pool(c, std::move(q), "/drain"); });
    routes.add("POST", "/v2/pools/{id}/reload",
               [c](request q) { return forward_pool(c, std::move(q), "/reload"); });
}

}  // namespace llorch::orchestrator
