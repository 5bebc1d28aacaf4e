#include <gtest/gtest.h>

#include "pool/restart_policy.h"

namespace llorch::pool {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::steady_clock::time_point;

const time_point epoch = time_point{} + 1h;

TEST(crash_loop_detector, gives_up_on_the_kth_crash_within_the_window) {
    crash_loop_detector detector(3, 60s);
    EXPECT_FALSE(detector.record_crash(epoch));
    EXPECT_FALSE(detector.record_crash(epoch + 10s));
    EXPECT_TRUE(detector.record_crash(epoch + 20s));
}

TEST(crash_loop_detector, forgets_crashes_that_slide_out_of_the_window) {
    crash_loop_detector detector(3, 60s);
    EXPECT_FALSE(detector.record_crash(epoch));
    EXPECT_FALSE(detector.record_crash(epoch + 30s));
    // The first crash is exactly one window old: outside.
    EXPECT_FALSE(detector.record_crash(epoch + 60s));
    EXPECT_EQ(detector.crashes_in_window(epoch + 60s), 2);
    EXPECT_TRUE(detector.record_crash(epoch + 89s));
}

TEST(crash_loop_detector, spaced_out_crashes_never_give_up) {
    crash_loop_detector detector(2, 10s);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(detector.record_crash(epoch + i * 10s));
}

TEST(crash_loop_detector, reset_clears_history) {
    crash_loop_detector detector(2, 60s);
    EXPECT_FALSE(detector.record_crash(epoch));
    detector.reset();
    EXPECT_FALSE(detector.record_crash(epoch + 1s));
    EXPECT_TRUE(detector.record_crash(epoch + 2s));
}

TEST(crash_loop_detector, one_crash_is_a_loop_when_max_is_one_or_less) {
    crash_loop_detector detector(0, 60s);
    EXPECT_TRUE(detector.record_crash(epoch));
}

TEST(restart_policy, backs_off_more_for_each_crash_in_the_window_then_gives_up) {
    restart_policy policy(
        {.backoff = {.base = 100ms, .factor = 2.0, .cap = 10s}, .max_crashes = 4, .window = 60s},
        1);
    for (int i = 0; i < 3; ++i) {
        const auto d = policy.on_crash(epoch + i * 1s);
        EXPECT_FALSE(d.give_up);
        EXPECT_EQ(d.attempt, i);
        EXPECT_LE(d.delay, 100ms * (1 << i));
    }
    const auto last = policy.on_crash(epoch + 3s);
    EXPECT_TRUE(last.give_up);
    EXPECT_EQ(last.delay, 0ms);
}

TEST(restart_policy, starts_over_after_a_quiet_window) {
    restart_policy policy(
        {.backoff = {.base = 100ms, .factor = 2.0, .cap = 10s}, .max_crashes = 3, .window = 60s},
        1);
    EXPECT_EQ(policy.on_crash(epoch).attempt, 0);
    EXPECT_EQ(policy.on_crash(epoch + 1s).attempt, 1);
    const auto later = policy.on_crash(epoch + 5min);
    EXPECT_FALSE(later.give_up);
    EXPECT_EQ(later.attempt, 0);
    EXPECT_LE(later.delay, 100ms);
}

TEST(restart_policy, reset_allows_a_fresh_start_after_giving_up) {
    restart_policy policy({.max_crashes = 2, .window = 60s}, 9);
    EXPECT_FALSE(policy.on_crash(epoch).give_up);
    EXPECT_TRUE(policy.on_crash(epoch + 1s).give_up);
    policy.reset();
    EXPECT_FALSE(policy.on_crash(epoch + 2s).give_up);
}

}  // namespace
}  // namespace llorch::pool
