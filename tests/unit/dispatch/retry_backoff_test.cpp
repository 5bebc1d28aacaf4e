#include "dispatch/retry_backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace llorch::dispatch {
namespace {

using namespace std::chrono_literals;

TEST(retry_backoff, ceiling_doubles_per_retry_up_to_the_cap) {
    retry_backoff b({100ms, 1'000ms, 10});
    EXPECT_EQ(b.ceiling(1), 100ms);
    EXPECT_EQ(b.ceiling(2), 200ms);
    EXPECT_EQ(b.ceiling(4), 800ms);
    EXPECT_EQ(b.ceiling(5), 1'000ms);
    EXPECT_EQ(b.ceiling(60), 1'000ms);
}

TEST(retry_backoff, delays_stay_within_zero_and_the_ceiling_and_are_jittered) {
    retry_backoff b({100ms, 1'000ms, 1'000}, 1);
    std::set<int64_t> seen;
    for (uint32_t retry = 1; retry <= 1'000; ++retry) {
        const auto ceiling = b.ceiling(retry);
        auto d = b.delay(retry);
        ASSERT_TRUE(d);
        EXPECT_GE(*d, 0ms);
        EXPECT_LE(*d, ceiling);
        seen.insert(d->count());
    }
    EXPECT_GT(seen.size(), 100u);  // full jitter, not a fixed schedule
}

TEST(retry_backoff, stops_after_max_retries) {
    retry_backoff b({100ms, 1'000ms, 3});
    EXPECT_TRUE(b.delay(3));
    EXPECT_FALSE(b.delay(4));
    EXPECT_FALSE(b.delay(0));
}

TEST(retry_backoff, the_same_seed_gives_the_same_delays) {
    retry_backoff a({10ms, 10'000ms, 5}, 9);
    retry_backoff b({10ms, 10'000ms, 5}, 9);
    for (uint32_t r = 1; r <= 5; ++r) EXPECT_EQ(a.delay(r), b.delay(r));
}

}  // namespace
}  // namespace llorch::dispatch
