#include "pool/pool_routes.h"

#include <filesystem>
#include <map>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "pool/pool_snapshot_json.h"

namespace llorch::pool {
namespace json = boost::json;
using http::request;
using http::response;
using admin_ptr = std::shared_ptr<pool_admin>;

json::object to_json(const pool_view& v) {
    auto o = to_json(v.pool);
    if (v.placement) {
        const auto& p = *v.placement;
        json::array models;
        for (const auto& m : v.models) models.push_back(json::value(m));
        o["id"] = v.name();
        o["node_id"] = p.node_id;
        o["node_state"] = p.node_state;
        o["models"] = std::move(models);
        o["in_flight"] = p.in_flight;
        o["slots_free"] = p.slots_free;
        o["breaker_open"] = p.breaker_open;
    }
    return o;
}

json::object catalog_json(const std::vector<pool_view>& pools, bool files_here) {
    std::map<std::string, json::object> models;
    for (const auto& v : pools) {
        const auto& p = v.pool;
        auto& m = models[p.name];
        if (m.empty()) {
            std::error_code ec;
            uintmax_t size = 0;
            if (files_here && !p.model.empty()) size = std::filesystem::file_size(p.model, ec);
            json::array names;
            for (const auto& n : v.models) names.push_back(json::value(n));
            m = json::object{{"name", p.name},     {"names", names},
                             {"path", p.model},    {"size_bytes", ec ? 0 : size},
                             {"engine", p.engine}, {"pools", json::array{}}};
        }
        m["pools"].as_array().push_back(json::value(v.name()));
    }
    json::array out;
    for (auto& [name, m] : models) out.push_back(std::move(m));
    return json::object{{"models", out}};
}

namespace {

response reply(int status, const json::object& o) {
    return response::json(status, json::serialize(o));
}

response error_reply(const api::error& e, const request& q) {
    return response::from_error(e, q.correlation_id);
}

asio::awaitable<response> list(admin_ptr a, request) {
    json::array pools;
    for (const auto& v : a->list()) pools.push_back(to_json(v));
    co_return reply(200, json::object{{"pools", std::move(pools)}});
}

asio::awaitable<response> status(admin_ptr a, request q) {
    auto v = co_await a->status(q.params[0]);
    if (!v) co_return error_reply(v.error(), q);
    co_return reply(200, to_json(*v));
}

asio::awaitable<response> health(admin_ptr a, request q) {
    auto v = co_await a->status(q.params[0]);
    if (!v) co_return error_reply(v.error(), q);
    co_return reply(200, health_json(v->pool));
}

asio::awaitable<response> drain(admin_ptr a, request q) {
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto deadline = api::duration_ms_field(*body, "deadline_ms", default_drain_deadline,
                                           std::chrono::milliseconds(0), max_drain_deadline);
    if (!deadline) co_return error_reply(deadline.error(), q);
    auto v = co_await a->drain(q.params[0], *deadline);
    if (!v) co_return error_reply(v.error(), q);
    co_return reply(202, to_json(*v));
}

asio::awaitable<response> reload(admin_ptr a, request q) {
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto ref = api::required_string_field(*body, "new_model_ref", "give the new model's path");
    if (!ref) co_return error_reply(ref.error(), q);
    auto v = co_await a->reload(q.params[0], std::string(*ref));
    if (!v) co_return error_reply(v.error(), q);
    co_return reply(200, to_json(*v));
}

asio::awaitable<response> catalog(admin_ptr a, request) {
    co_return reply(200, catalog_json(a->list(), a->files_here()));
}

asio::awaitable<response> availability(admin_ptr a, request) {
    json::object models;
    for (const auto& v : a->list()) {
        auto& entry = models[v.pool.name];
        if (!entry.is_array()) entry = json::array{};
        entry.as_array().push_back(
            json::object{{"node_id", v.placement ? v.placement->node_id : std::string()},
                         {"pool_id", v.pool.id},
                         {"ready", v.ready()}});
    }
    co_return reply(200, json::object{{"models", std::move(models)}});
}

}  // namespace

void add_pool_routes(http::router& routes, admin_ptr a) {
    using fn = asio::awaitable<response> (*)(admin_ptr, request);
    auto on = [a](fn f) { return [a, f](request q) { return f(a, std::move(q)); }; };
    routes.add("GET", "/v2/pools", on(list));
    routes.add("GET", "/v2/pools/{id}/status", on(status));
    routes.add("GET", "/v2/pools/{id}/health", on(health));
    routes.add("POST", "/v2/pools/{id}/drain", on(drain));
    routes.add("POST", "/v2/pools/{id}/reload", on(reload));
    routes.add("GET", "/v2/catalog/models", on(catalog));
    routes.add("GET", "/v2/catalog/availability", on(availability));
}

}  // namespace llorch::pool
