#include "orchestrator/cluster_metrics.h"

#include <map>
#include <set>
#include <string>
#include <utility>

namespace llorch::orchestrator {

void report_cluster_metrics(common::scrape& s, const registry::node_registry& nodes,
                            const placement::placement_index& index, registry::time_point now) {
    using registry::node_state;
    std::map<node_state, int> by_state{{node_state::registering, 0},
                                       {node_state::online, 0},
                                       {node_state::draining, 0},
                                       {node_state::offline, 0},
                                       {node_state::failed, 0}};
    for (const auto& [id, n] : nodes.nodes()) {
        ++by_state[n.state];
        const common::labels l{{"node", id}};
        const bool up = n.state == node_state::online || n.state == node_state::draining;
        s.gauge("node_up", "1 while the node heartbeats (online or draining), else 0.", l,
                up ? 1 : 0);
        s.gauge("node_heartbeat_age_seconds", "Time since the node's last heartbeat.", l,
                std::chrono::duration<double>(now - n.last_heartbeat).count());
    }
    s.gauge("nodes_registered", "Nodes the registry knows, whatever their state.", {},
            static_cast<double>(nodes.nodes().size()));
    for (auto [state, n] : by_state)
        s.gauge("nodes", "Registered nodes by state.",
                {{"state", std::string(registry::to_string(state))}}, n);

    // Per node: a model is available when a ready, undrained pool of the node serves it.
    std::map<std::string, bool> breaker_open;
    std::set<std::pair<std::string, std::string>> available, known;
    index.for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
        const common::labels l{{"node", e.node_id}, {"pool_id", e.pool_id}};
        s.gauge("cluster_pool_slots", "A node's pool slots, as the node reports them.", l,
                e.state.slots_total);
        s.gauge("cluster_pool_in_flight", "Tasks this control plane runs on a pool.", l,
                e.in_flight);
        s.gauge("cluster_pool_ready", "1 when placement may use the pool.", l,
                e.state.ready && !e.state.draining && e.node_available ? 1 : 0);
        breaker_open[e.node_id] = breaker_open[e.node_id] || e.breaker_open;
        const bool serving = e.state.ready && !e.state.draining && !e.state.down;
        for (const auto& m : e.state.models) {
            known.emplace(e.node_id, m);
            if (serving) available.emplace(e.node_id, m);
        }
    });
    for (const auto& [node, open] : breaker_open)
        s.gauge("node_breaker_open", "1 while the node's circuit breaker keeps tasks away.",
                {{"node", node}}, open ? 1 : 0);
    for (const auto& [node, model] : known)
        s.gauge("model_available", "1 when a ready pool of the node serves the model.",
                {{"node", node}, {"model", model}}, available.contains({node, model}) ? 1 : 0);
}

}  // namespace llorch::orchestrator
