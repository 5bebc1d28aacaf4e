#include "cluster/rolling_stats.h"

#include <gtest/gtest.h>

namespace llorch::cluster {
namespace {
using namespace std::chrono_literals;

const time_point start = time_point{} + 1h;

TEST(rolling_stats, tokens_per_second_is_the_mean_over_the_rate_window) {
    rolling_stats s({.rate_window = 3s});
    for (int i = 0; i < 3; ++i) s.add_tokens(100, start + std::chrono::seconds(i));
    auto p = s.tick(start + 3s, 0, 0, 0);
    EXPECT_DOUBLE_EQ(p.tokens_per_s, 100);
    // Tokens older than the window no longer count.
    auto later = s.tick(start + 10s, 0, 0, 0);
    EXPECT_DOUBLE_EQ(later.tokens_per_s, 0);
}

TEST(rolling_stats, ttft_percentiles_cover_the_window_only) {
    rolling_stats s({.ttft_window = 60s});
    for (int i = 1; i <= 100; ++i) s.add_ttft(i, start);
    auto p = s.tick(start + 1s, 0, 0, 0);
    EXPECT_DOUBLE_EQ(p.ttft_p50_ms, 50);
    EXPECT_DOUBLE_EQ(p.ttft_p95_ms, 95);
    s.add_ttft(1000, start + 30s);
    auto later = s.tick(start + 61s, 0, 0, 0);
    EXPECT_DOUBLE_EQ(later.ttft_p50_ms, 1000);
    auto empty = s.tick(start + 200s, 0, 0, 0);
    EXPECT_DOUBLE_EQ(empty.ttft_p50_ms, -1);
}

TEST(rolling_stats, keeps_a_bounded_history_and_sample_count) {
    rolling_stats s({.max_samples = 10, .history = 5});
    for (int i = 0; i < 50; ++i) s.add_ttft(i, start);
    for (int i = 0; i < 20; ++i) s.tick(start + std::chrono::seconds(i), i, 0, 0);
    EXPECT_EQ(s.history().size(), 5u);
    EXPECT_EQ(s.history().back().at_ms, 19);
    EXPECT_DOUBLE_EQ(s.history().front().ttft_p95_ms, 49);  // only the newest 10 samples
}

TEST(rolling_stats, percentile_by_nearest_rank) {
    std::vector<double> v{5, 1, 3};
    EXPECT_DOUBLE_EQ(percentile(v, 50), 3);
    EXPECT_DOUBLE_EQ(percentile(v, 100), 5);
    std::vector<double> none;
    EXPECT_DOUBLE_EQ(percentile(none, 50), -1);
}

}  // namespace
}  // namespace llorch::cluster
