#pragma once
// The task service's metrics, in the daemon's registry: how tasks enter, wait, run and end, as
// counters and latency histograms labelled by model, pool, node and priority. Written by the
// task service's parts (task_service admits, task_table ends, task_runner times tokens) on the
// control plane's thread.
//
// Label cardinality stays bounded: a model label only comes from an admitted task (its model was
// served when it was admitted), pools and nodes are bounded by the configuration and the node
// registry, codes by the error vocabulary. No task or session ids.
//
// Cost: every series is created in the registry once and then reached through a pointer: a
// task's admission, start and end cost one hash of a short key each (no label maps, no registry
// lookup); a token costs one histogram observation and one counter increment through pointers
// the task holds.

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

#include "admission/admission_config.h"
#include "api/error.h"
#include "common/metrics.h"

namespace llorch::orchestrator {

// The live series of one model × pool × node × priority: a running task holds a pointer.
struct task_series {
    common::histogram* ttft = nullptr;
    common::histogram* inter_token = nullptr;
    common::histogram* e2e = nullptr;
    common::counter* tokens_in = nullptr;
    common::counter* tokens_out = nullptr;
};

struct series_key {
    std::string_view model, pool, node;
    admission::task_priority priority;
};

class task_metrics {
  public:
    explicit task_metrics(common::metrics_registry& registry);

    void enqueued(admission::task_priority p);
    // Admission refused a task (`reason`: queue_full) or dropped a queued one (drop_lru).
    void rejected(std::string_view reason, std::string_view policy);
    void started(admission::task_priority p, std::string_view model, double queue_wait_s);
    // The series a task placed on `k` reports into.
    const task_series& series(const series_key& k);
    // From the placement decision to the engine accepting the request.
    void routed(double seconds) { routing_->Observe(seconds); }
    void placement_decided(double seconds, bool placed);
    void retried(std::string_view model, std::string_view why);
    // How a task ended; `code` is empty for a completed task.
    void ended(const series_key& k, std::string_view outcome, std::string_view code);
    common::metrics_registry& registry() { return registry_; }

  private:
    static size_t index(admission::task_priority p) { return static_cast<size_t>(p); }

    common::metrics_registry& registry_;
    std::unordered_map<std::string, task_series> series_;
    std::unordered_map<std::string, common::histogram*> queue_wait_;  // model \0 priority
    std::unordered_map<std::string, common::counter*> ended_;  // series key \0 outcome \0 code
    std::array<common::counter*, 2> enqueued_{};               // by priority
    std::array<common::counter*, 2> started_{};
    common::counter* canceled_;
    common::counter* completed_;
    common::counter* failed_;
    common::counter* deadline_unmet_;
    common::histogram* routing_;
    common::histogram* placement_;
    common::counter* placed_ok_;
    common::counter* placed_failed_;
};

}  // namespace llorch::orchestrator
