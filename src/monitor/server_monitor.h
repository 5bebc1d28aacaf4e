#pragma once
// server_monitor: what the control plane knows of each upstream (a pool: `node_id/pool_id`, or
// `pool_id` in the HOME profile) and of each node, for GET /v2/servers, /metrics and placement:
//
// - health from probes, with hysteresis (probe_health; `fall`/`rise` in monitor_config). A pool
//   is healthy when its own probes and its node's say so; a node's probes are its heartbeats and
//   connection attempts (CLOUD), the HOME profile's one node "" is never probed and stays healthy;
// - moving averages (EWMA, weight monitor_config::latency_alpha) of time to first token and
//   end-to-end time of the requests it ran;
// - error rate over a sliding window (error_window): failed ÷ finished, cancellations excluded
//   (a client leaving says nothing of the upstream);
// - load: requests in flight against capacity (slots) and utilization, given by the caller at
//   read time from the placement index, which owns that count.
//
// Pure: no I/O, no clock (time passed in), no JSON. Owned by orchestratord's application object;
// used on the control plane's thread only. Upstreams are created by their first mention and
// removed with forget().

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "monitor/error_window.h"
#include "monitor/monitor_config.h"
#include "monitor/probe_health.h"

namespace llorch::monitor {

using time_point = std::chrono::steady_clock::time_point;

enum class request_outcome { completed, failed, cancelled };

// A moving average that takes its first sample as it is.
struct ewma {
    double value = 0.0;
    bool observed = false;
    void add(double x, double alpha) {
        value = observed ? value + alpha * (x - value) : x;
        observed = true;
    }
    std::optional<double> get() const {
        return observed ? std::optional<double>(value) : std::nullopt;
    }
};

// Load of one upstream at read time (from the placement index).
struct upstream_load {
    int in_flight = 0;  // requests this control plane runs there
    int busy = 0;       // slots in use, ours and others' (≥ in_flight)
    int capacity = 0;   // slots
};

struct upstream_view {
    std::string node_id;
    std::string pool_id;
    bool healthy = true;        // own probes and its node's
    bool probe_healthy = true;  // own probes only
    int good_run = 0;           // consecutive good / failed probes up to now
    int bad_run = 0;
    uint64_t probes_ok = 0;
    uint64_t probes_failed = 0;
    std::optional<long long> last_probe_ms_ago;
    long long state_for_ms = 0;  // since the health verdict last changed (or first seen)
    std::optional<double> ttft_ewma_ms;
    std::optional<double> e2e_ewma_ms;
    double error_rate = 0.0;  // over the window
    uint64_t window_requests = 0;
    uint64_t window_failures = 0;
    uint64_t requests_total = 0;  // finished requests, cancellations included
    uint64_t failures_total = 0;
    int in_flight = 0;
    int busy = 0;
    int capacity = 0;
    double utilization = 0.0;  // busy ÷ capacity, 0 without capacity
};

// A node's upstreams together (CLOUD), and the node's own probe health.
struct node_view {
    std::string node_id;
    bool healthy = true;  // the node's own probes (heartbeats)
    int upstreams = 0;
    int healthy_upstreams = 0;
    int in_flight = 0;
    int busy = 0;
    int capacity = 0;
    double utilization = 0.0;
    // Averages of the upstreams' EWMAs weighted by their finished requests (each upstream at
    // least 1): what a request to the node has been seeing.
    std::optional<double> ttft_ewma_ms;
    std::optional<double> e2e_ewma_ms;
    double error_rate = 0.0;  // all failures ÷ all finished requests in the window
    uint64_t window_requests = 0;
    uint64_t window_failures = 0;
};

class server_monitor {
  public:
    explicit server_monitor(monitor_config config = {});

    // One probe of a pool / of a node; true when its health verdict changed with it.
    bool on_probe(std::string_view node_id, std::string_view pool_id, bool ok, time_point now);
    bool on_node_probe(std::string_view node_id, bool ok, time_point now);
    // A request ended on the pool (every attempt, retried ones included). `ttft_ms` when a
    // token came, `e2e_ms` from the attempt's start to its end.
    void on_request(std::string_view node_id, std::string_view pool_id, request_outcome outcome,
                    std::optional<double> ttft_ms, std::optional<double> e2e_ms, time_point now);
    void forget(std::string_view node_id, std::string_view pool_id);
    void forget_node(std::string_view node_id);  // the node and all its pools

    // Unknown upstreams and nodes are healthy (they start so).
    bool healthy(std::string_view node_id, std::string_view pool_id) const;
    bool node_healthy(std::string_view node_id) const;

    upstream_view view(std::string_view node_id, std::string_view pool_id,
                       const upstream_load& load, time_point now) const;
    node_view aggregate(std::string_view node_id, std::span<const upstream_view> upstreams) const;

    const monitor_config& config() const { return config_; }
    size_t upstream_count() const { return upstreams_.size(); }

  private:
    struct probe_state {
        probe_health health;
        uint64_t ok = 0;
        uint64_t failed = 0;
        std::optional<time_point> last_probe;
        std::optional<time_point> changed;  // last verdict change, or the first mention
        bool record(bool ok, int fall, int rise, time_point now);
    };
    struct upstream {
        explicit upstream(const monitor_config& c) : errors(c.error_window, c.window_buckets) {}
        probe_state probes;
        ewma ttft;
        ewma e2e;
        error_window errors;
        uint64_t requests = 0;
        uint64_t failures = 0;
    };
    struct string_hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    template <class V>
    using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

    static std::string key(std::string_view node_id, std::string_view pool_id);
    upstream& at(std::string_view node_id, std::string_view pool_id, time_point now);

    monitor_config config_;
    string_map<upstream> upstreams_;  // by `node_id/pool_id` (`/pool_id` in HOME)
    string_map<probe_state> nodes_;
};

}  // namespace llorch::monitor
