#include "orchestrator/servers_api.h"

#include <chrono>

#include <boost/json.hpp>

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {

json::value opt(const std::optional<double>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

json::object server_json(const server_row& r, const pool::pool_snapshot* local) {
    const auto& v = r.stats;
    json::object o{
        {"name", r.name},
        {"node_id", v.node_id},
        {"pool_id", v.pool_id},
        {"engine", r.engine},
        {"models", strings(r.models)},
        {"labels", strings(r.labels)},
        {"ready", r.ready},
        {"draining", r.draining},
        {"available", r.available},
        {"health",
         {{"healthy", v.healthy},
          {"probe_healthy", v.probe_healthy},
          {"good_run", v.good_run},
          {"bad_run", v.bad_run},
          {"probes_ok", v.probes_ok},
          {"probes_failed", v.probes_failed},
          {"last_probe_ms_ago",
           v.last_probe_ms_ago ? json::value(*v.last_probe_ms_ago) : json::value(nullptr)},
          {"state_for_ms", v.state_for_ms}}},
        {"ttft_ewma_ms", opt(v.ttft_ewma_ms)},
        {"e2e_ewma_ms", opt(v.e2e_ewma_ms)},
        {"error_rate", v.error_rate},
        {"window_requests", v.window_requests},
        {"window_failures", v.window_failures},
        {"requests_total", v.requests_total},
        {"failures_total", v.failures_total},
        {"in_flight", v.in_flight},
        {"busy", v.busy},
        {"capacity", v.capacity},
        {"utilization", v.utilization},
    };
    if (local) {
        o["endpoints"] = strings(local->endpoints);
        o["upstream_models"] = strings(local->upstream_models);
        if (local->weight > 0) o["weight"] = local->weight;
    }
    return o;
}

json::object node_json(const monitor::node_view& n) {
    return {{"node_id", n.node_id},
            {"healthy", n.healthy},
            {"upstreams", n.upstreams},
            {"healthy_upstreams", n.healthy_upstreams},
            {"in_flight", n.in_flight},
            {"busy", n.busy},
            {"capacity", n.capacity},
            {"utilization", n.utilization},
            {"ttft_ewma_ms", opt(n.ttft_ewma_ms)},
            {"e2e_ewma_ms", opt(n.e2e_ewma_ms)},
            {"error_rate", n.error_rate},
            {"window_requests", n.window_requests},
            {"window_failures", n.window_failures}};
}

}  // namespace

boost::asio::awaitable<http::response> servers_api::list(http::request) {
    const auto l = servers_.list(std::chrono::steady_clock::now());
    std::vector<pool::pool_snapshot> snaps;
    if (local_) snaps = local_->list();
    json::array servers;
    for (const auto& r : l.servers) {
        const pool::pool_snapshot* local = nullptr;
        for (const auto& s : snaps)
            if (r.stats.node_id.empty() && s.id == r.stats.pool_id) local = &s;
        servers.push_back(server_json(r, local));
    }
    json::array nodes;
    for (const auto& n : l.nodes) nodes.push_back(node_json(n));
    const auto& c = servers_.monitor().config();
    json::object o{{"profile", profile_},
                   {"monitor",
                    {{"fall", c.fall},
                     {"rise", c.rise},
                     {"latency_alpha", c.latency_alpha},
                     {"error_window_ms", c.error_window.count()}}},
                   {"servers", std::move(servers)},
                   {"nodes", std::move(nodes)}};
    co_return http::response::json(200, json::serialize(o));
}

}  // namespace llorch::orchestrator
