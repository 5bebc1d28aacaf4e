#include "common/backoff.h"

#include <algorithm>
#include <cmath>

namespace llorch::common {

backoff::backoff(config cfg) : config_(cfg) {
    using std::chrono::milliseconds;
    config_.base = std::max(config_.base, milliseconds{1});
    // Also catches NaN.
    if (!(config_.factor >= 1.0)) config_.factor = 1.0;
    config_.cap = std::max(config_.cap, config_.base);
}

std::chrono::milliseconds backoff::ceiling(int attempt) const {
    const auto cap = static_cast<double>(config_.cap.count());
    // In double, so that a large attempt saturates at cap (inf compares greater) instead of
    // overflowing.
    const double grown = static_cast<double>(config_.base.count()) *
                         std::pow(config_.factor, static_cast<double>(std::max(attempt, 0)));
    return std::chrono::milliseconds{
        static_cast<std::chrono::milliseconds::rep>(std::min(grown, cap))};
}

std::chrono::milliseconds backoff::delay(int attempt, std::mt19937_64& rng) const {
    std::uniform_int_distribution<std::chrono::milliseconds::rep> uniform(0,
                                                                          ceiling(attempt).count());
    return std::chrono::milliseconds{uniform(rng)};
}

}  // namespace llorch::common
