#include <gtest/gtest.h>

#include "pool/restart_policy.h"

namespace llorch::pool {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::steady_clock::time_point;

const time_point t0 = time_point{} + 1h;

TEST(exponential_backoff, ceiling_grows_by_factor_until_cap) {
    exponential_backoff backoff({.base = 100ms, .factor = 2.0, .cap = 1000ms});
    EXPECT_EQ(backoff.ceiling(0), 100ms);
    EXPECT_EQ(backoff.ceiling(1), 200ms);
    EXPECT_EQ(backoff.ceiling(2), 400ms);
    EXPECT_EQ(backoff.ceiling(3), 800ms);
    EXPECT_EQ(backoff.ceiling(4), 1000ms);
    EXPECT_EQ(backoff.ceiling(1'000'000), 1000ms);
    EXPECT_EQ(backoff.ceiling(-3), 100ms);
}

TEST(exponential_backoff, delay_stays_within_zero_and_cap) {
    exponential_backoff backoff({.base = 50ms, .factor = 3.0, .cap = 2000ms});
    std::mt19937_64 rng(42);
    for (int attempt = 0; attempt < 40; ++attempt) {
        for (int i = 0; i < 200; ++i) {
            const auto d = backoff.delay(attempt, rng);
            EXPECT_GE(d, 0ms);
            EXPECT_LE(d, backoff.ceiling(attempt));
            EXPECT_LE(d, 2000ms);
        }
    }
}

TEST(exponential_backoff, mean_delay_grows_with_attempt) {
    exponential_backoff backoff({.base = 100ms, .factor = 2.0, .cap = 60'000ms});
    std::mt19937_64 rng(7);
    auto mean = [&](int attempt) {
        double sum = 0;
        constexpr int samples = 2000;
        for (int i = 0; i < samples; ++i)
            sum += static_cast<double>(backoff.delay(attempt, rng).count());
        return sum / samples;
    };
    double previous = mean(0);
    EXPECT_NEAR(previous, 50.0, 5.0);  // full jitter: half the ceiling on average
    for (int attempt = 1; attempt <= 6; ++attempt) {
        const double current = mean(attempt);
        EXPECT_GT(current, previous * 1.5) << "attempt " << attempt;
        previous = current;
    }
}

TEST(exponential_backoff, is_reproducible_with_a_seed) {
    exponential_backoff backoff;
    std::mt19937_64 a(123);
    std::mt19937_64 b(123);
    for (int attempt = 0; attempt < 10; ++attempt) {
        EXPECT_EQ(backoff.delay(attempt, a), backoff.delay(attempt, b));
    }
}

TEST(exponential_backoff, clamps_nonsense_settings) {
    exponential_backoff backoff({.base = 0ms, .factor = 0.5, .cap = -5ms});
    EXPECT_EQ(backoff.settings().base, 1ms);
    EXPECT_EQ(backoff.settings().factor, 1.0);
    EXPECT_EQ(backoff.settings().cap, 1ms);
    EXPECT_EQ(backoff.ceiling(10), 1ms);
}

TEST(crash_loop_detector, gives_up_on_the_kth_crash_within_the_window) {
    crash_loop_detector detector(3, 60s);
    EXPECT_FALSE(detector.record_crash(t0));
    EXPECT_FALSE(detector.record_crash(t0 + 10s));
    EXPECT_TRUE(detector.record_crash(t0 + 20s));
}

TEST(crash_loop_detector, forgets_crashes_that_slide_out_of_the_window) {
    crash_loop_detector detector(3, 60s);
    EXPECT_FALSE(detector.record_crash(t0));
    EXPECT_FALSE(detector.record_crash(t0 + 30s));
    // The first crash is exactly one window old: outside.
    EXPECT_FALSE(detector.record_crash(t0 + 60s));
    EXPECT_EQ(detector.crashes_in_window(t0 + 60s), 2);
    EXPECT_TRUE(detector.record_crash(t0 + 89s));
}

TEST(crash_loop_detector, spaced_out_crashes_never_give_up) {
    crash_loop_detector detector(2, 10s);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(detector.record_crash(t0 + i * 10s));
}

TEST(crash_loop_detector, reset_clears_history) {
    crash_loop_detector detector(2, 60s);
    EXPECT_FALSE(detector.record_crash(t0));
    detector.reset();
    EXPECT_FALSE(detector.record_crash(t0 + 1s));
    EXPECT_TRUE(detector.record_crash(t0 + 2s));
}

TEST(crash_loop_detector, one_crash_is_a_loop_when_max_is_one_or_less) {
    crash_loop_detector detector(0, 60s);
    EXPECT_TRUE(detector.record_crash(t0));
}

TEST(restart_policy, backs_off_more_for_each_crash_in_the_window_then_gives_up) {
    restart_policy policy(
        {.backoff = {.base = 100ms, .factor = 2.0, .cap = 10s}, .max_crashes = 4, .window = 60s},
        1);
    for (int i = 0; i < 3; ++i) {
        const auto d = policy.on_crash(t0 + i * 1s);
        EXPECT_FALSE(d.give_up);
        EXPECT_EQ(d.attempt, i);
        EXPECT_LE(d.delay, 100ms * (1 << i));
    }
    const auto last = policy.on_crash(t0 + 3s);
    EXPECT_TRUE(last.give_up);
    EXPECT_EQ(last.delay, 0ms);
}

TEST(restart_policy, starts_over_after_a_quiet_window) {
    restart_policy policy(
        {.backoff = {.base = 100ms, .factor = 2.0, .cap = 10s}, .max_crashes = 3, .window = 60s},
        1);
    EXPECT_EQ(policy.on_crash(t0).attempt, 0);
    EXPECT_EQ(policy.on_crash(t0 + 1s).attempt, 1);
    const auto later = policy.on_crash(t0 + 5min);
    EXPECT_FALSE(later.give_up);
    EXPECT_EQ(later.attempt, 0);
    EXPECT_LE(later.delay, 100ms);
}

TEST(restart_policy, reset_allows_a_fresh_start_after_giving_up) {
    restart_policy policy({.max_crashes = 2, .window = 60s}, 9);
    EXPECT_FALSE(policy.on_crash(t0).give_up);
    EXPECT_TRUE(policy.on_crash(t0 + 1s).give_up);
    policy.reset();
    EXPECT_FALSE(policy.on_crash(t0 + 2s).give_up);
}

}  // namespace
}  // namespace llorch::pool
