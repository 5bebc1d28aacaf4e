#include "dispatch/circuit_breaker.h"

#include <gtest/gtest.h>

namespace llorch::dispatch {
namespace {

using namespace std::chrono_literals;

struct circuit_breaker_fixture : ::testing::Test {
    std::chrono::steady_clock::time_point now{};
    circuit_breaker breaker{circuit_breaker_config{3, 10s}, [this] { return now; }};

    void fail(int n) {
        for (int i = 0; i < n; ++i) breaker.record_failure();
    }
};

TEST_F(circuit_breaker_fixture, stays_closed_below_the_failure_threshold) {
    EXPECT_EQ(breaker.record_failure(), breaker_transition::none);
    EXPECT_EQ(breaker.record_failure(), breaker_transition::none);
    EXPECT_EQ(breaker.state(), breaker_state::closed);
    EXPECT_TRUE(breaker.allow_request());
    EXPECT_EQ(breaker.consecutive_failures(), 2u);
}

TEST_F(circuit_breaker_fixture, a_success_resets_the_consecutive_count) {
    fail(2);
    EXPECT_EQ(breaker.record_success(), breaker_transition::none);
    fail(2);
    EXPECT_EQ(breaker.state(), breaker_state::closed);
}

TEST_F(circuit_breaker_fixture, opens_after_n_consecutive_failures_and_refuses_requests) {
    fail(2);
    EXPECT_EQ(breaker.record_failure(), breaker_transition::opened);
    EXPECT_EQ(breaker.state(), breaker_state::open);
    EXPECT_FALSE(breaker.allow_request());
    EXPECT_EQ(breaker.half_open_at(), now + 10s);
    EXPECT_EQ(breaker.record_failure(), breaker_transition::none);  // no second "opened"
}

TEST_F(circuit_breaker_fixture, half_opens_after_the_cool_down_and_lets_one_trial_through) {
    fail(3);
    now += 9s;
    EXPECT_FALSE(breaker.allow_request());
    now += 1s;
    EXPECT_EQ(breaker.state(), breaker_state::half_open);
    EXPECT_TRUE(breaker.allow_request());
    EXPECT_FALSE(breaker.allow_request());  // the trial is still out
}

TEST_F(circuit_breaker_fixture, closes_when_the_trial_succeeds) {
    fail(3);
    now += 10s;
    ASSERT_TRUE(breaker.allow_request());
    EXPECT_EQ(breaker.record_success(), breaker_transition::closed);
    EXPECT_EQ(breaker.state(), breaker_state::closed);
    EXPECT_TRUE(breaker.allow_request());
    EXPECT_TRUE(breaker.allow_request());
    EXPECT_EQ(breaker.consecutive_failures(), 0u);
}

TEST_F(circuit_breaker_fixture, reopens_for_another_cool_down_when_the_trial_fails) {
    fail(3);
    now += 10s;
    ASSERT_TRUE(breaker.allow_request());
    EXPECT_EQ(breaker.record_failure(), breaker_transition::opened);
    EXPECT_EQ(breaker.state(), breaker_state::open);
    now += 9s;
    EXPECT_FALSE(breaker.allow_request());
    now += 1s;
    EXPECT_TRUE(breaker.allow_request());
}

TEST_F(circuit_breaker_fixture, a_late_success_from_before_the_trip_does_not_close_it) {
    fail(3);
    now += 1s;
    EXPECT_EQ(breaker.record_success(), breaker_transition::none);
    EXPECT_EQ(breaker.state(), breaker_state::open);
}

TEST_F(circuit_breaker_fixture, a_lost_trial_is_given_up_after_another_cool_down) {
    fail(3);
    now += 10s;
    ASSERT_TRUE(breaker.allow_request());
    now += 9s;
    EXPECT_FALSE(breaker.allow_request());
    now += 1s;
    EXPECT_TRUE(breaker.allow_request());
}

TEST(circuit_breaker, a_threshold_of_zero_counts_as_one) {
    std::chrono::steady_clock::time_point now{};
    circuit_breaker b({0, 1s}, [&] { return now; });
    EXPECT_EQ(b.record_failure(), breaker_transition::opened);
}

}  // namespace
}  // namespace llorch::dispatch
