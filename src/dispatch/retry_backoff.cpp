#include "dispatch/retry_backoff.h"

#include <algorithm>

namespace llorch::dispatch {

retry_backoff::retry_backoff(retry_backoff_config config, uint64_t seed)
    : config_(config), rng_(seed) {
    config_.base = std::max(config_.base, std::chrono::milliseconds(1));
    config_.cap = std::max(config_.cap, config_.base);
}

std::chrono::milliseconds retry_backoff::ceiling(uint32_t retry) const {
    const uint32_t doublings = retry == 0 ? 0 : std::min<uint32_t>(retry - 1, 40);
    const auto cap = config_.cap.count();
    auto value = config_.base.count();
    for (uint32_t i = 0; i < doublings && value < cap; ++i) value *= 2;
    return std::chrono::milliseconds(std::min(value, cap));
}

std::optional<std::chrono::milliseconds> retry_backoff::delay(uint32_t retry) {
    if (retry == 0 || retry > config_.max_retries) return std::nullopt;
    std::uniform_int_distribution<int64_t> dist(0, ceiling(retry).count());
    return std::chrono::milliseconds(dist(rng_));
}

}  // namespace llorch::dispatch
