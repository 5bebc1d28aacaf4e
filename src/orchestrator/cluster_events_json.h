#pragma once
// The frames of GET /v2/events: each cluster event as one SSE frame (`event:` its type, `data:`
// one JSON object). The event types and their fields are listed in the orchestrator README
// ("Cluster events"). Pure functions over the cluster view's rows.

#include <chrono>
#include <string>
#include <string_view>

#include "cluster/cluster_view.h"

namespace llorch::orchestrator::cluster_json {

using cluster::time_point;

// The whole view, the first frame every reader gets.
std::string snapshot(const cluster::cluster_view& v, std::string_view profile, time_point now,
                     long long wall_ms);
std::string task_queued(std::string_view task_id, std::string_view model, std::string_view priority,
                        size_t position);
std::string task_started(const cluster::task_row& t, std::string_view priority, int attempt);
std::string task_ended(const cluster::task_end& e, long long wall_ms);
std::string queue(const cluster::queue_depths& q);
std::string pool(const cluster::pool_row& p);
std::string pool_removed(std::string_view id);
std::string node(const cluster::node_row& n);
std::string node_removed(std::string_view node_id);
// The figures of a tick, with every running task's progress.
std::string stats(const cluster::stats_point& s, const cluster::cluster_view& v, time_point now);
// The last frame of a reader that fell too far behind.
std::string cut_off(std::string_view message);

}  // namespace llorch::orchestrator::cluster_json
