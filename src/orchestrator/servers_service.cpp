#include "orchestrator/servers_service.h"

#include <chrono>
#include <map>

namespace llorch::orchestrator {

namespace {
monitor::time_point steady_now() { return std::chrono::steady_clock::now(); }
}  // namespace

servers_service::servers_service(monitor::monitor_config config, placement::placement_index& index)
    : monitor_(config), index_(index) {}

void servers_service::apply(std::string_view node_id, std::string_view pool_id) {
    if (auto ref = index_.find(node_id, pool_id))
        index_.set_pool_healthy(*ref, monitor_.healthy(node_id, pool_id));
}

void servers_service::pool_probe(std::string_view node_id, std::string_view pool_id, bool ok) {
    if (monitor_.on_probe(node_id, pool_id, ok, steady_now())) apply(node_id, pool_id);
}

void servers_service::pool_reported(std::string_view node_id, std::string_view pool_id, bool down) {
    pool_probe(node_id, pool_id, !down);
    // A pool the index has just (re)created starts healthy there: keep the monitor's verdict.
    if (!monitor_.healthy(node_id, pool_id)) apply(node_id, pool_id);
}

void servers_service::node_probe(std::string_view node_id, bool ok) {
    if (!monitor_.on_node_probe(node_id, ok, steady_now())) return;
    std::vector<std::string> pools;
    index_.for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
        if (e.node_id == node_id) pools.push_back(e.pool_id);
    });
    for (const auto& p : pools) apply(node_id, p);
}

void servers_service::forget_node(std::string_view node_id) { monitor_.forget_node(node_id); }

servers_listing servers_service::list(monitor::time_point now) const {
    servers_listing out;
    std::map<std::string, std::vector<monitor::upstream_view>> by_node;
    index_.for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
        server_row r;
        const int busy = e.state.slots_total - e.free_slots();
        r.stats = monitor_.view(
            e.node_id, e.pool_id,
            {.in_flight = e.in_flight, .busy = busy, .capacity = e.state.slots_total}, now);
        r.name = e.name();
        r.engine = e.state.engine;
        r.models = e.state.models;
        r.labels = e.state.labels;
        r.ready = e.state.ready;
        r.draining = e.state.draining;
        r.available = e.node_available && !e.breaker_open && e.healthy && e.state.ready &&
                      !e.state.draining && e.state.vram_ok;
        by_node[e.node_id].push_back(r.stats);
        out.servers.push_back(std::move(r));
    });
    for (const auto& [node, views] : by_node) out.nodes.push_back(monitor_.aggregate(node, views));
    return out;
}

void servers_service::report_metrics(common::scrape& s, monitor::time_point now) const {
    const auto l = list(now);
    for (const auto& r : l.servers) {
        const auto& v = r.stats;
        const common::labels lb{{"node", v.node_id}, {"pool_id", v.pool_id}};
        s.gauge(
            "upstream_healthy",
            "1 while the upstream's probes (and its node's) say healthy (fall/rise hysteresis).",
            lb, v.healthy ? 1 : 0);
        s.counter("upstream_probes_total", "Health probes of the upstream, by outcome.",
                  {{"node", v.node_id}, {"pool_id", v.pool_id}, {"outcome", "ok"}},
                  static_cast<double>(v.probes_ok));
        s.counter("upstream_probes_total", "Health probes of the upstream, by outcome.",
                  {{"node", v.node_id}, {"pool_id", v.pool_id}, {"outcome", "failed"}},
                  static_cast<double>(v.probes_failed));
        if (v.ttft_ewma_ms)
            s.gauge("upstream_ttft_ewma_seconds",
                    "Moving average (EWMA) of the upstream's time to first token.", lb,
                    *v.ttft_ewma_ms / 1000.0);
        if (v.e2e_ewma_ms)
            s.gauge("upstream_e2e_ewma_seconds",
                    "Moving average (EWMA) of the upstream's request time, start to end.", lb,
                    *v.e2e_ewma_ms / 1000.0);
        s.gauge("upstream_error_rate", "Failed over finished requests in the monitor's window.", lb,
                v.error_rate);
        s.gauge("upstream_in_flight", "Requests this control plane runs on the upstream.", lb,
                v.in_flight);
        s.gauge("upstream_utilization", "Busy slots over the upstream's slots.", lb, v.utilization);
    }
    for (const auto& n : l.nodes) {
        const common::labels lb{{"node", n.node_id}};
        s.gauge("server_node_healthy_upstreams", "Healthy upstreams of the node.", lb,
                n.healthy_upstreams);
        s.gauge("server_node_utilization", "Busy slots over all slots of the node's upstreams.", lb,
                n.utilization);
        s.gauge("server_node_error_rate",
                "Failed over finished requests of the node's upstreams "
                "in the monitor's window.",
                lb, n.error_rate);
    }
}

}  // namespace llorch::orchestrator
