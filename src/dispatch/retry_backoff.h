#pragma once
// Bounded retries of a task before its first token: common::backoff (doubling from `base` to
// `cap`, full jitter) with a bound on the number of retries. The delay before retry n (1-based)
// is uniform in [0, min(cap, base · 2^(n-1))], and there are at most max_retries of them.
//
// Owned by the task runs (orchestrator::task_runner), seeded by its owner (tests pin the seed);
// used on the control plane's thread only.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "common/backoff.h"

namespace llorch::dispatch {

struct retry_backoff_config {
    std::chrono::milliseconds base{50};
    std::chrono::milliseconds cap{2'000};
    uint32_t max_retries = 3;
};

class retry_backoff {
  public:
    explicit retry_backoff(retry_backoff_config config, uint64_t seed = 0x7265747279ULL);

    // The upper bound of the delay before retry `retry` (1-based).
    std::chrono::milliseconds ceiling(uint32_t retry) const;
    // The delay before retry `retry`, or nullopt when no retry is left.
    std::optional<std::chrono::milliseconds> delay(uint32_t retry);
    const retry_backoff_config& config() const { return config_; }

  private:
    retry_backoff_config config_;
    common::backoff backoff_;
    std::mt19937_64 rng_;
};

}  // namespace llorch::dispatch
