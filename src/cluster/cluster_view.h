#pragma once
// What an operator sees of the cluster, kept current from the control plane's own events: nodes
// and pools (as diffs of the listings the monitor reads), the queue by priority, the running
// tasks with their tokens so far, the recent errors, and the throughput and latency figures
// (rolling_stats). Each change returns what changed, which the monitor encodes as an event;
// snapshot readers read the whole view.
//
// Plain state, no I/O, no JSON, time passed in. Owned by orchestrator::cluster_monitor; used on
// the control plane's thread only. Memory: one row per node, pool and running task, at most
// `max_errors` errors, and rolling_stats' window.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/rolling_stats.h"

namespace llorch::cluster {

struct node_row {
    std::string node_id;
    std::string state;  // registering, online, draining, offline, failed
    std::string address;
    std::string version;
    long long last_heartbeat_ms = 0;  // wall-clock ms since the epoch; 0: none yet
    size_t pools = 0;
    friend bool operator==(const node_row&, const node_row&) = default;
};

struct pool_row {
    std::string id;  // pool_id, or node_id/pool_id across a cluster
    std::string node_id;
    std::string state;  // the pool lifecycle's state names
    std::string model;
    std::string engine;
    std::string device;
    int slots_total = 0;
    int slots_free = 0;
    int slots_busy = 0;  // generations running on it (not total - free: a stopped pool has none)
    uint64_t vram_total_bytes = 0;
    uint64_t vram_free_bytes = 0;
    std::optional<double> gpu_util_percent;  // where the node reports it
    std::string last_error;
    friend bool operator==(const pool_row&, const pool_row&) = default;
};

struct task_row {
    std::string task_id;
    std::string model;
    std::string priority;
    std::string pool;  // as pool_row::id
    std::string node_id;
    time_point started{};
    std::optional<time_point> first_token;
    long long tokens = 0;
};

struct task_end {
    std::string task_id;
    std::string model;
    std::string pool;
    std::string outcome;     // completed, failed, cancelled
    std::string error_code;  // empty when it completed
    std::string message;
    long long tokens = 0;
    double ttft_ms = -1;  // -1: no token came
    long long duration_ms = 0;
};

struct error_row {
    long long at_ms = 0;  // wall clock, ms since the epoch
    std::string task_id;
    std::string model;
    std::string pool;
    std::string code;
    std::string message;
};

struct queue_depths {
    size_t interactive = 0;
    size_t batch = 0;
    size_t total() const { return interactive + batch; }
    friend bool operator==(const queue_depths&, const queue_depths&) = default;
};

// What a listing changed: rows new or different, and ids that went away.
template <class Row>
struct row_changes {
    std::vector<Row> changed;
    std::vector<std::string> removed;
    bool empty() const { return changed.empty() && removed.empty(); }
};

struct view_config {
    stats_config stats;
    size_t max_errors = 50;
};

class cluster_view {
  public:
    explicit cluster_view(view_config config = {}) : config_(config), stats_(config.stats) {}

    // Listings as the registry and the pools report them now, diffed against the last ones.
    row_changes<node_row> set_nodes(std::vector<node_row> nodes);
    row_changes<pool_row> set_pools(std::vector<pool_row> pools);
    // True when the depths changed.
    bool set_queue(queue_depths q);

    // A task placed on a pool (again, after a retry: the row moves).
    const task_row& task_started(task_row t);
    // A running task's token count as of `now` (the first token's time when it has one).
    void task_progress(const std::string& task_id, long long tokens,
                       std::optional<time_point> first_token, time_point now);
    // A task ended; its remaining tokens and TTFT go into the figures, an error into the list.
    void task_ended(const task_end& e, long long wall_ms, time_point now);

    stats_point tick(time_point now, long long wall_ms) {
        return stats_.tick(now, wall_ms, queue_.total(), running_.size());
    }

    const std::map<std::string, node_row>& nodes() const { return nodes_; }
    const std::map<std::string, pool_row>& pools() const { return pools_; }
    const std::map<std::string, task_row>& running() const { return running_; }
    const std::deque<error_row>& errors() const { return errors_; }
    const queue_depths& queue() const { return queue_; }
    const rolling_stats& stats() const { return stats_; }

    // A running task's tokens per second since its first token (0 before it).
    static double tokens_per_s(const task_row& t, time_point now);
    static double ttft_ms(const task_row& t);

  private:
    view_config config_;
    rolling_stats stats_;
    std::map<std::string, node_row> nodes_;
    std::map<std::string, pool_row> pools_;
    std::map<std::string, task_row> running_;
    std::deque<error_row> errors_;
    queue_depths queue_;
};

}  // namespace llorch::cluster
