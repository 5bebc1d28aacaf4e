#pragma once
// A per-node circuit breaker: failures (timeouts, 5xx) trip it so that a failing node stops
// receiving work for a cool-down instead of failing every request sent to it.
//
//   closed ──N consecutive failures──► open ──cool-down elapsed──► half-open
//     ▲                                 ▲                              │ one trial request
//     └────────── trial succeeds ───────┼──────────────────────────────┤
//                                       └──────── trial fails ─────────┘
//
// Owned by orchestrator::cloud_backend, one per node; single-threaded (the control plane's
// thread). The backend mirrors it into the placement index: `opened` →
// set_node_breaker_open(node, true) and a timer at half_open_at(); when it fires,
// set_node_breaker_open(node, false) so placement may pick the node for the trial. The
// dispatcher asks the backend before each dispatch (pool_backend::admit), which asks
// allow_request(): the trial takes the node out of placement again until its outcome, and a
// refusal (the trial is out) places the task elsewhere; `closed` →
// set_node_breaker_open(node, false).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace llorch::dispatch {

using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

enum class breaker_state { closed, open, half_open };
enum class breaker_transition { none, opened, closed };
std::string_view to_string(breaker_state s);

struct circuit_breaker_config {
    uint32_t failure_threshold = 3;  // consecutive failures that open the breaker (min 1)
    std::chrono::milliseconds cool_down{5'000};
};

class circuit_breaker {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    circuit_breaker(circuit_breaker_config config, clock_fn clock);

    // May a request go to the node now? In half-open, yes for one trial at a time (a trial
    // whose outcome never arrives is given up after another cool-down).
    bool allow_request();
    breaker_transition record_success();
    breaker_transition record_failure();

    breaker_state state() const;  // half-open once the cool-down has passed
    uint32_t consecutive_failures() const { return failures_; }
    std::optional<time_point> half_open_at() const;  // while open

  private:
    circuit_breaker_config config_;
    clock_fn clock_;
    bool open_ = false;  // open or half-open, depending on the time
    time_point opened_at_{};
    uint32_t failures_ = 0;
    std::optional<time_point> trial_started_;
};

}  // namespace llorch::dispatch
