#include "dispatch/circuit_breaker.h"

#include <algorithm>

namespace llorch::dispatch {

std::string_view to_string(breaker_state s) {
    switch (s) {
        case breaker_state::closed:
            return "closed";
        case breaker_state::open:
            return "open";
        case breaker_state::half_open:
            return "half-open";
    }
    return "unknown";
}

circuit_breaker::circuit_breaker(circuit_breaker_config config, clock_fn clock)
    : config_(config), clock_(std::move(clock)) {
    config_.failure_threshold = std::max<uint32_t>(config_.failure_threshold, 1);
    if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

breaker_state circuit_breaker::state() const {
    if (!open_) return breaker_state::closed;
    return clock_() >= opened_at_ + config_.cool_down ? breaker_state::half_open
                                                      : breaker_state::open;
}

std::optional<circuit_breaker::time_point> circuit_breaker::half_open_at() const {
    if (!open_) return std::nullopt;
    return opened_at_ + config_.cool_down;
}

bool circuit_breaker::allow_request() {
    switch (state()) {
        case breaker_state::closed:
            return true;
        case breaker_state::open:
            return false;
        case breaker_state::half_open: {
            const auto now = clock_();
            if (trial_started_ && now < *trial_started_ + config_.cool_down) return false;
            trial_started_ = now;
            return true;
        }
    }
    return false;
}

breaker_transition circuit_breaker::record_success() {
    failures_ = 0;
    if (!open_) return breaker_transition::none;
    // A success while still open comes from a request sent before the breaker tripped: it does
    // not prove the node recovered. Only the half-open trial closes the breaker.
    if (state() == breaker_state::open) return breaker_transition::none;
    open_ = false;
    trial_started_.reset();
    return breaker_transition::closed;
}

breaker_transition circuit_breaker::record_failure() {
    const auto s = state();
    if (s == breaker_state::open) return breaker_transition::none;
    if (s == breaker_state::half_open) {
        opened_at_ = clock_();
        trial_started_.reset();
        return breaker_transition::opened;  // re-opened for another cool-down
    }
    if (++failures_ < config_.failure_threshold) return breaker_transition::none;
    open_ = true;
    opened_at_ = clock_();
    trial_started_.reset();
    return breaker_transition::opened;
}

}  // namespace llorch::dispatch
