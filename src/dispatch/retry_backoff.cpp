#include "dispatch/retry_backoff.h"

#include <algorithm>

namespace llorch::dispatch {

namespace {
int attempt_of(uint32_t retry) {
    // Retry n waits as common::backoff's attempt n-1; past 62 doublings every cap is reached.
    return static_cast<int>(std::min<uint32_t>(retry == 0 ? 0 : retry - 1, 62));
}
}  // namespace

retry_backoff::retry_backoff(retry_backoff_config config, uint64_t seed)
    : config_(config),
      backoff_({.base = config.base, .factor = 2.0, .cap = config.cap}),
      rng_(seed) {
    config_.base = backoff_.settings().base;
    config_.cap = backoff_.settings().cap;
}

std::chrono::milliseconds retry_backoff::ceiling(uint32_t retry) const {
    return backoff_.ceiling(attempt_of(retry));
}

std::optional<std::chrono::milliseconds> retry_backoff::delay(uint32_t retry) {
    if (retry == 0 || retry > config_.max_retries) return std::nullopt;
    return backoff_.delay(attempt_of(retry), rng_);
}

}  // namespace llorch::dispatch
