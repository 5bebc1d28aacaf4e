#pragma once
// servers_service: the server monitor (monitor::server_monitor) wired into orchestratord. It takes
// probe results — HOME: the local pools' health checks; CLOUD: node heartbeats (each a probe of
// the node and of every pool it reports: good unless the pool is failed or offline), and
// connection failures to a node — applies each health verdict change to the placement index
// (an unhealthy upstream takes no task), and lists every upstream joined with the index's own
// load figures for GET /v2/servers and /metrics. Request outcomes reach the monitor from the
// task runner (task_service::set_server_monitor).
//
// Owner: orchestratord's application object. Thread: the control plane's io thread only.

#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "monitor/server_monitor.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

// One upstream as GET /v2/servers shows it: the monitor's figures and what placement knows.
struct server_row {
    monitor::upstream_view stats;
    std::string name;  // `node_id/pool_id`, or `pool_id` in HOME
    std::string engine;
    std::vector<std::string> models;
    std::vector<std::string> labels;
    bool ready = false;
    bool draining = false;
    bool available = false;  // passes placement's filters, free slots aside
};

struct servers_listing {
    std::vector<server_row> servers;  // in the index's order
    std::vector<monitor::node_view> nodes;
};

class servers_service {
  public:
    servers_service(monitor::monitor_config config, placement::placement_index& index);

    monitor::server_monitor& monitor() { return monitor_; }
    const monitor::server_monitor& monitor() const { return monitor_; }

    void pool_probe(std::string_view node_id, std::string_view pool_id, bool ok);
    void node_probe(std::string_view node_id, bool ok);
    // A pool of a node reported in a heartbeat (after the registry took it).
    void pool_reported(std::string_view node_id, std::string_view pool_id, bool down);
    void forget_node(std::string_view node_id);

    servers_listing list(monitor::time_point now) const;
    void report_metrics(common::scrape& s, monitor::time_point now) const;

  private:
    void apply(std::string_view node_id, std::string_view pool_id);

    monitor::server_monitor monitor_;
    placement::placement_index& index_;
};

}  // namespace llorch::orchestrator
