// The one backoff rule: exponential growth to a cap, full jitter, reproducible with a seed.
#include "common/backoff.h"

#include <gtest/gtest.h>

namespace llorch::common {
namespace {

using namespace std::chrono_literals;

TEST(backoff, ceiling_grows_by_factor_until_cap) {
    backoff b({.base = 100ms, .factor = 2.0, .cap = 1000ms});
    EXPECT_EQ(b.ceiling(0), 100ms);
    EXPECT_EQ(b.ceiling(1), 200ms);
    EXPECT_EQ(b.ceiling(2), 400ms);
    EXPECT_EQ(b.ceiling(3), 800ms);
    EXPECT_EQ(b.ceiling(4), 1000ms);
    EXPECT_EQ(b.ceiling(1'000'000), 1000ms);
    EXPECT_EQ(b.ceiling(-3), 100ms);
}

TEST(backoff, delay_stays_within_zero_and_cap) {
    backoff b({.base = 50ms, .factor = 3.0, .cap = 2000ms});
    std::mt19937_64 rng(42);
    for (int attempt = 0; attempt < 40; ++attempt) {
        for (int i = 0; i < 200; ++i) {
            const auto d = b.delay(attempt, rng);
            EXPECT_GE(d, 0ms);
            EXPECT_LE(d, b.ceiling(attempt));
            EXPECT_LE(d, 2000ms);
        }
    }
}

TEST(backoff, mean_delay_grows_with_attempt) {
    backoff b({.base = 100ms, .factor = 2.0, .cap = 60'000ms});
    std::mt19937_64 rng(7);
    auto mean = [&](int attempt) {
        double sum = 0;
        constexpr int samples = 2000;
        for (int i = 0; i < samples; ++i) sum += static_cast<double>(b.delay(attempt, rng).count());
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

TEST(backoff, is_reproducible_with_a_seed) {
    backoff b;
    std::mt19937_64 one(123);
    std::mt19937_64 other(123);
    for (int attempt = 0; attempt < 10; ++attempt) {
        EXPECT_EQ(b.delay(attempt, one), b.delay(attempt, other));
    }
}

TEST(backoff, clamps_nonsense_settings) {
    backoff b({.base = 0ms, .factor = 0.5, .cap = -5ms});
    EXPECT_EQ(b.settings().base, 1ms);
    EXPECT_EQ(b.settings().factor, 1.0);
    EXPECT_EQ(b.settings().cap, 1ms);
    EXPECT_EQ(b.ceiling(10), 1ms);
}

}  // namespace
}  // namespace llorch::common
