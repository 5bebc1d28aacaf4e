#include "pool/restart_policy.h"

#include <algorithm>

namespace llorch::pool {

crash_loop_detector::crash_loop_detector(int max_crashes, clock::duration window)
    : max_crashes_(std::max(max_crashes, 1)), window_(window) {}

void crash_loop_detector::forget_before(clock::time_point now) {
    // A crash exactly one window ago is outside it.
    while (!crashes_.empty() && crashes_.front() <= now - window_) crashes_.pop_front();
}

bool crash_loop_detector::record_crash(clock::time_point now) {
    forget_before(now);
    crashes_.push_back(now);
    return static_cast<int>(crashes_.size()) >= max_crashes_;
}

int crash_loop_detector::crashes_in_window(clock::time_point now) {
    forget_before(now);
    return static_cast<int>(crashes_.size());
}

restart_policy::restart_policy(config cfg, uint64_t seed)
    : backoff_(cfg.backoff), detector_(cfg.max_crashes, cfg.window), rng_(seed) {}

restart_policy::decision restart_policy::on_crash(clock::time_point now) {
    decision d;
    d.attempt = detector_.crashes_in_window(now);
    if (detector_.record_crash(now)) {
        d.give_up = true;
        return d;
    }
    d.delay = backoff_.delay(d.attempt, rng_);
    return d;
}

}  // namespace llorch::pool
