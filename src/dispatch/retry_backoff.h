#pragma once
// Bounded retries with exponential backoff and full jitter for calls to nodes: the delay before
// retry n (1-based) is uniform in [0, min(cap, base · 2^(n-1))], and there are at most
// max_retries of them. Full jitter keeps the retries of many failed requests from arriving in
// lock-step. (src/pool/restart_policy has the engine-restart variant, which is unbounded.)
//
// One per dispatcher, seeded by its owner (tests pin the seed); single-threaded.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

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
    std::mt19937_64 rng_;
};

}  // namespace llorch::dispatch
