#include "admission/service_rate_estimator.h"

#include <algorithm>

namespace llorch::admission {

namespace {
double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

service_rate_estimator::service_rate_estimator(service_rate_config config) : config_(config) {
    config_.alpha = std::clamp(config_.alpha, 1e-6, 1.0);
    if (config_.min_service.count() <= 0) config_.min_service = std::chrono::milliseconds(1);
    config_.initial_service = std::max(config_.initial_service, config_.min_service);
    config_.min_retry = std::max(config_.min_retry, std::chrono::milliseconds(0));
    config_.max_retry = std::max(config_.max_retry, config_.min_retry);
    service_s_ = seconds(config_.initial_service);
}

void service_rate_estimator::observe(std::chrono::nanoseconds held) {
    const double s = std::max(seconds(held), seconds(config_.min_service));
    service_s_ = observed_ ? service_s_ + config_.alpha * (s - service_s_) : s;
    observed_ = true;
}

double service_rate_estimator::rate_per_s(size_t running) const {
    return static_cast<double>(std::max<size_t>(running, 1)) / service_s_;
}

int64_t service_rate_estimator::predicted_start_ms(size_t position, size_t running) const {
    if (position == 0) return 0;
    const double ms = static_cast<double>(position) * 1000.0 / rate_per_s(running);
    constexpr double cap = 1e15;  // far beyond any deadline; keeps the cast defined
    return static_cast<int64_t>(std::min(ms, cap));
}

int64_t service_rate_estimator::retry_after_ms(size_t queued, size_t running) const {
    const double ms = static_cast<double>(queued) * 1000.0 / rate_per_s(running);
    const double lo = static_cast<double>(config_.min_retry.count());
    const double hi = static_cast<double>(config_.max_retry.count());
    return static_cast<int64_t>(std::clamp(ms, lo, hi));
}

}  // namespace llorch::admission
