#pragma once
// When to restart a crashed engine, and when to stop trying. Pure: time is passed in and
// randomness comes from a caller-seeded generator, so tests replay it exactly. One
// restart_policy per engine process, owned by its supervisor and used on the thread that runs
// the pool manager.

#include <chrono>
#include <deque>
#include <random>

#include "common/backoff.h"

namespace llorch::pool {

// The restart delay is common::backoff (exponential, full jitter): restarts of engines that
// crashed together (a GPU reset) spread out instead of happening in lock-step.
using backoff_config = common::backoff_config;
using exponential_backoff = common::backoff;

// Detects a crash loop: max_crashes crashes within a sliding window means restarting will not
// help. Only the crash times inside the window are kept.
class crash_loop_detector {
  public:
    using clock = std::chrono::steady_clock;

    // max_crashes below 1 is treated as 1.
    crash_loop_detector(int max_crashes, clock::duration window);

    // Records a crash at `now` (non-decreasing between calls); true when this crash makes
    // max_crashes within the window: give up.
    bool record_crash(clock::time_point now);

    // Crashes within the window ending at `now`, this one included if recorded at `now`.
    int crashes_in_window(clock::time_point now);

    void reset() { crashes_.clear(); }

  private:
    void forget_before(clock::time_point now);

    int max_crashes_;
    clock::duration window_;
    std::deque<clock::time_point> crashes_;
};

// Backoff and crash-loop detection together, as the engine supervisor uses them: on each
// crash, either restart after a delay or give up (the pool goes failed). The backoff attempt is
// the number of earlier crashes still in the window, so an engine that stayed up for a whole
// window restarts quickly again.
struct restart_policy_config {
    backoff_config backoff;
    int max_crashes = 5;  // K: this many crashes within window puts the pool in failed
    std::chrono::milliseconds window{60'000};
};

class restart_policy {
  public:
    using clock = std::chrono::steady_clock;
    using config = restart_policy_config;

    struct decision {
        bool give_up = false;
        std::chrono::milliseconds delay{0};  // wait before restarting (0 when giving up)
        int attempt = 0;                     // 0 for the first restart within the window
    };

    restart_policy(config cfg, uint64_t seed);

    decision on_crash(clock::time_point now);

    // After an explicit restart of a failed pool: the history starts over.
    void reset() { detector_.reset(); }

  private:
    exponential_backoff backoff_;
    crash_loop_detector detector_;
    std::mt19937_64 rng_;
};

}  // namespace llorch::pool
