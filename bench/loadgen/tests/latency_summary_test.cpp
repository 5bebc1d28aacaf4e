#include "loadgen/latency_summary.h"

#include <gtest/gtest.h>

namespace llorch::bench {

TEST(latency_summary, nearest_rank_percentiles_are_observed_samples) {
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
    auto s = summarize(v);
    EXPECT_EQ(s.count, 100u);
    EXPECT_DOUBLE_EQ(s.p50, 50);
    EXPECT_DOUBLE_EQ(s.p90, 90);
    EXPECT_DOUBLE_EQ(s.p99, 99);
    EXPECT_DOUBLE_EQ(s.max, 100);
    EXPECT_DOUBLE_EQ(s.mean, 50.5);
}

TEST(latency_summary, single_sample_is_every_percentile) {
    auto s = summarize({7.5});
    EXPECT_DOUBLE_EQ(s.p50, 7.5);
    EXPECT_DOUBLE_EQ(s.p99, 7.5);
    EXPECT_DOUBLE_EQ(s.max, 7.5);
}

TEST(latency_summary, no_samples_gives_zeroes) {
    auto s = summarize({});
    EXPECT_EQ(s.count, 0u);
    EXPECT_DOUBLE_EQ(s.p99, 0);
}

TEST(latency_summary, p99_of_few_samples_is_the_largest) {
    EXPECT_DOUBLE_EQ(percentile_sorted({1, 2, 3}, 0.99), 3);
    EXPECT_DOUBLE_EQ(percentile_sorted({1, 2, 3}, 0.0), 1);
}

}  // namespace llorch::bench
