#include "admission/service_rate_estimator.h"

#include <algorithm>
#include <cmath>

namespace llorch::admission {

service_rate_estimator::service_rate_estimator(service_rate_config config, time_point start)
    : config_(config) {
    if (config_.window.count() <= 0) config_.window = std::chrono::milliseconds(1'000);
    config_.alpha = std::clamp(config_.alpha, 1e-6, 1.0);
    config_.min_rate_per_s = std::max(config_.min_rate_per_s, 1e-9);
    config_.initial_rate_per_s = std::max(config_.initial_rate_per_s, config_.min_rate_per_s);
    state_.window_start = start;
}

void service_rate_estimator::roll(state& s, time_point now) const {
    if (now < s.window_start + config_.window) return;
    const auto windows = static_cast<uint64_t>((now - s.window_start) / config_.window);
    const double window_s = std::chrono::duration<double>(config_.window).count();
    if (s.count > 0 || s.has_rate) {
        const double sample = static_cast<double>(s.count) / window_s;
        s.rate = s.has_rate ? s.rate + config_.alpha * (sample - s.rate) : sample;
        s.has_rate = true;
        // The windows after the first were idle.
        if (windows > 1) s.rate *= std::pow(1.0 - config_.alpha, static_cast<double>(windows - 1));
    }
    s.count = 0;
    s.window_start += windows * config_.window;
}

void service_rate_estimator::observe(time_point now, uint32_t count) {
    roll(state_, now);
    state_.count += count;
}

double service_rate_estimator::rate_per_s(time_point now) const {
    state s = state_;
    roll(s, now);
    if (!s.has_rate) return config_.initial_rate_per_s;
    return std::max(s.rate, config_.min_rate_per_s);
}

int64_t service_rate_estimator::predicted_start_ms(size_t position, time_point now) const {
    if (position == 0) return 0;
    const double ms = static_cast<double>(position) * 1000.0 / rate_per_s(now);
    constexpr double cap = 1e15;  // far beyond any deadline; keeps the cast defined
    return static_cast<int64_t>(std::min(ms, cap));
}

}  // namespace llorch::admission
