#pragma once
// The cluster's throughput and latency over the last minutes: tokens counted into one-second
// buckets, times to first token kept with their time, and one point per tick for the charts.
// Everything older than the window is dropped as time moves, so memory is bounded by the window
// (and by `max_samples` for the latency samples of a very busy cluster).
//
// Plain state, no I/O, time passed in. Owned by cluster_view; control plane's thread only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace llorch::cluster {

using time_point = std::chrono::steady_clock::time_point;

struct stats_point {
    long long at_ms = 0;  // wall-clock time of the point, ms since the epoch
    double tokens_per_s = 0;
    double ttft_p50_ms = -1;  // -1: no first token in the window
    double ttft_p95_ms = -1;
    size_t queue_depth = 0;
    size_t running = 0;
};

struct stats_config {
    std::chrono::seconds rate_window{3};    // tokens/s is the mean over this
    std::chrono::seconds ttft_window{300};  // TTFT percentiles over this
    size_t max_samples = 20'000;            // TTFT samples kept at most
    size_t history = 300;                   // points kept for the charts (one per tick)
};

class rolling_stats {
  public:
    explicit rolling_stats(stats_config config = {}) : config_(config) {}

    void add_tokens(long long n, time_point now);
    void add_ttft(double ms, time_point now);
    // The figures at `now`, also kept as the newest point of the history.
    stats_point tick(time_point now, long long wall_ms, size_t queue_depth, size_t running);
    const std::deque<stats_point>& history() const { return history_; }
    const stats_config& config() const { return config_; }

  private:
    void expire(time_point now);
    stats_config config_;
    std::deque<std::pair<int64_t, long long>> buckets_;  // (second, tokens)
    std::deque<std::pair<time_point, double>> ttft_;
    std::deque<stats_point> history_;
};

// The p-th percentile (0..100) of `v` by nearest rank; -1 for an empty set. Reorders `v`.
double percentile(std::vector<double>& v, double p);

}  // namespace llorch::cluster
