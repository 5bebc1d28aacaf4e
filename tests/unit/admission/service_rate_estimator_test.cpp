#include "admission/service_rate_estimator.h"

#include <gtest/gtest.h>

namespace llorch::admission {
namespace {

using namespace std::chrono_literals;
using tp = service_rate_estimator::time_point;

const tp t0{};

TEST(service_rate_estimator, uses_the_initial_rate_before_any_observation) {
    service_rate_estimator e({1s, 0.3, 2.0, 0.01}, t0);
    EXPECT_DOUBLE_EQ(e.rate_per_s(t0 + 10s), 2.0);  // idle windows alone give no estimate
    EXPECT_EQ(e.predicted_start_ms(4, t0), 2'000);
}

TEST(service_rate_estimator, converges_to_a_steady_dispatch_rate) {
    service_rate_estimator e({1s, 0.3, 1.0, 0.01}, t0);
    for (int ms = 0; ms < 20'000; ms += 100) e.observe(t0 + std::chrono::milliseconds(ms));
    EXPECT_NEAR(e.rate_per_s(t0 + 20s), 10.0, 0.01);
    EXPECT_NEAR(static_cast<double>(e.predicted_start_ms(50, t0 + 20s)), 5'000.0, 5.0);
}

TEST(service_rate_estimator, first_closed_window_replaces_the_initial_rate) {
    service_rate_estimator e({1s, 0.3, 1.0, 0.01}, t0);
    e.observe(t0, 40);
    EXPECT_DOUBLE_EQ(e.rate_per_s(t0 + 500ms), 1.0);  // window still open
    EXPECT_DOUBLE_EQ(e.rate_per_s(t0 + 1s), 40.0);
}

TEST(service_rate_estimator, decays_when_nothing_starts) {
    service_rate_estimator e({1s, 0.5, 1.0, 0.01}, t0);
    e.observe(t0, 8);
    EXPECT_DOUBLE_EQ(e.rate_per_s(t0 + 1s), 8.0);
    EXPECT_DOUBLE_EQ(e.rate_per_s(t0 + 3s), 2.0);       // two idle windows halve it twice
    EXPECT_DOUBLE_EQ(e.rate_per_s(t0 + 1'000s), 0.01);  // floored
}

TEST(service_rate_estimator, position_zero_predicts_an_immediate_start) {
    service_rate_estimator e({}, t0);
    EXPECT_EQ(e.predicted_start_ms(0, t0), 0);
}

}  // namespace
}  // namespace llorch::admission
