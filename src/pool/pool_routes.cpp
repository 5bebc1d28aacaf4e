#include "pool/pool_routes.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "pool/catalog_routes.h"
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

namespace {

asio::awaitable<response> list(admin_ptr a, request) {
    json::array pools;
    for (const auto& v : a->list()) pools.push_back(to_json(v));
    co_return response::json(200, json::object{{"pools", std::move(pools)}});
}

asio::awaitable<response> status(admin_ptr a, request q) {
    auto v = co_await a->status(q.params[0]);
    if (!v) co_return error_reply(v.error(), q);
    co_return response::json(200, to_json(*v));
}

asio::awaitable<response> health(admin_ptr a, request q) {
    auto v = co_await a->status(q.params[0]);
    if (!v) co_return error_reply(v.error(), q);
    co_return response::json(200, health_json(v->pool));
}

asio::awaitable<response> drain(admin_ptr a, request q) {
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto deadline = api::duration_ms_field(*body, "deadline_ms", default_drain_deadline,
                                           std::chrono::milliseconds(0), max_drain_deadline);
    if (!deadline) co_return error_reply(deadline.error(), q);
    auto v = co_await a->drain(q.params[0], *deadline);
    if (!v) co_return error_reply(v.error(), q);
    co_return response::json(202, to_json(*v));
}

asio::awaitable<response> reload(admin_ptr a, request q) {
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto ref = api::required_string_field(*body, "new_model_ref", "give the new model's path");
    if (!ref) co_return error_reply(ref.error(), q);
    auto v = co_await a->reload(q.params[0], std::string(*ref));
    if (!v) co_return error_reply(v.error(), q);
    co_return response::json(200, to_json(*v));
}

}  // namespace

void add_pool_routes(http::router& routes, admin_ptr a, std::shared_ptr<catalog_admin> files) {
    using fn = asio::awaitable<response> (*)(admin_ptr, request);
    auto on = [a](fn f) { return [a, f](request q) { return f(a, std::move(q)); }; };
    routes.add("GET", "/v2/pools", on(list));
    routes.add("GET", "/v2/pools/{id}/status", on(status));
    routes.add("GET", "/v2/pools/{id}/health", on(health));
    routes.add("POST", "/v2/pools/{id}/drain", on(drain));
    routes.add("POST", "/v2/pools/{id}/reload", on(reload));
    add_catalog_routes(routes, a, std::move(files));
}

}  // namespace llorch::pool
