#include "admission/service_rate_estimator.h"

#include <gtest/gtest.h>

namespace llorch::admission {
namespace {

using namespace std::chrono_literals;

TEST(service_rate_estimator, uses_the_initial_slot_time_before_any_completion) {
    service_rate_estimator e({.initial_service = 2'000ms});
    EXPECT_DOUBLE_EQ(e.service_s(), 2.0);
    EXPECT_DOUBLE_EQ(e.rate_per_s(1), 0.5);
    EXPECT_EQ(e.predicted_start_ms(4, 1), 8'000);
    EXPECT_EQ(e.predicted_start_ms(4, 4), 2'000);  // four slots free four times as fast
}

TEST(service_rate_estimator, first_completion_replaces_the_initial_slot_time) {
    service_rate_estimator e({.initial_service = 1'000ms});
    e.observe(250ms);
    EXPECT_DOUBLE_EQ(e.service_s(), 0.25);
}

TEST(service_rate_estimator, converges_to_the_recent_slot_time) {
    service_rate_estimator e({.alpha = 0.3});
    for (int i = 0; i < 50; ++i) e.observe(2s);
    for (int i = 0; i < 50; ++i) e.observe(500ms);  // the service got faster
    EXPECT_NEAR(e.service_s(), 0.5, 1e-6);
    EXPECT_NEAR(e.rate_per_s(4), 8.0, 1e-4);
    EXPECT_NEAR(static_cast<double>(e.predicted_start_ms(40, 4)), 5'000.0, 1.0);
}

// An idle hour between two bursts: nothing completes in it, so nothing changes, and the hint for
// a burst onto a full queue is the queue's length over the recent completion rate.
TEST(service_rate_estimator, idle_time_does_not_lower_the_rate) {
    service_rate_estimator e({.alpha = 0.3, .max_retry = 30'000ms});
    for (int i = 0; i < 20; ++i) e.observe(600ms);
    const double rate = e.rate_per_s(4);  // 4 slots busy, 0.6 s each
    EXPECT_NEAR(rate, 4 / 0.6, 1e-6);
    // (no observation: an idle period is only the absence of completions)
    const auto hint = e.retry_after_ms(64, 4);
    EXPECT_NEAR(static_cast<double>(hint), 64 / rate * 1000.0, 1.0);  // 9.6 s, not minutes
}

TEST(service_rate_estimator, retry_hint_is_bounded) {
    service_rate_estimator e({.min_retry = 100ms, .max_retry = 30'000ms});
    e.observe(10s);
    EXPECT_EQ(e.retry_after_ms(1'000'000, 1), 30'000);  // the queue would take days: say 30 s
    EXPECT_EQ(e.retry_after_ms(1'000'000, 0), 30'000);  // no slot running: still bounded
    service_rate_estimator fast({.min_retry = 100ms, .max_retry = 30'000ms});
    fast.observe(1ms);
    EXPECT_EQ(fast.retry_after_ms(1, 8), 100);  // never below the floor
}

TEST(service_rate_estimator, position_zero_predicts_an_immediate_start) {
    service_rate_estimator e(service_rate_config{});
    EXPECT_EQ(e.predicted_start_ms(0, 0), 0);
}

TEST(service_rate_estimator, a_huge_position_stays_finite) {
    service_rate_estimator e(service_rate_config{});
    e.observe(1'000'000s);
    EXPECT_GT(e.predicted_start_ms(SIZE_MAX, 1), 0);
}

}  // namespace
}  // namespace llorch::admission
