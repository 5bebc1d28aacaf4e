#pragma once
// Exponential backoff with full jitter, the one rule for every wait before trying again: engine
// restarts (pool::restart_policy), retries of a task before its first token
// (dispatch::retry_backoff), a node's reconnects to orchestratord. The delay before attempt
// `attempt` (0 for the first) is uniform in [0, ceiling(attempt)], where
// ceiling = min(cap, base · factor^attempt). Full jitter spreads the retries of many callers that
// failed together (a GPU reset, a control plane restart) instead of sending them in lock-step.
//
// Pure: randomness comes from a caller-seeded generator, so tests replay it exactly. A value
// type; its owner decides the thread.

#include <chrono>
#include <random>

namespace llorch::common {

struct backoff_config {
    std::chrono::milliseconds base{500};
    double factor = 2.0;
    std::chrono::milliseconds cap{30'000};
};

class backoff {
  public:
    using config = backoff_config;

    // Out-of-range values are clamped rather than rejected: base at least 1 ms, factor at
    // least 1, cap at least base.
    explicit backoff(config cfg = {});

    // The upper bound for this attempt; never above cap, never decreasing with attempt.
    std::chrono::milliseconds ceiling(int attempt) const;

    // A random delay in [0, ceiling(attempt)].
    std::chrono::milliseconds delay(int attempt, std::mt19937_64& rng) const;

    const config& settings() const { return config_; }

  private:
    config config_;
};

}  // namespace llorch::common
