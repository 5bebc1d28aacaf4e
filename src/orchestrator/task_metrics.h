#pragma once
// The task service's counters and latency samples, rendered for /metrics. Plain state, no I/O:
// owned by task_service, written by its parts (task_table counts how tasks end, task_runner
// counts tokens and latencies) on the control plane's thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llorch::orchestrator {

struct task_counters {
    uint64_t enqueued = 0, started = 0, canceled = 0, rejected = 0, completed = 0, failed = 0,
             tokens = 0, dropped_lru = 0, deadline_unmet = 0;
};

class task_metrics {
  public:
    task_counters counts;

    // A task that completed: its end-to-end time and time to its first token.
    void observe_completion(double e2e_ms, std::optional<double> ttft_ms);
    std::string render(size_t queue_depth, size_t running) const;

  private:
    // Bounded: the oldest half goes when a window is full.
    std::vector<double> ttft_ms_, e2e_ms_;
};

}  // namespace llorch::orchestrator
