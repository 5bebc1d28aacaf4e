#include "http/accept_backoff.h"

#include <gtest/gtest.h>

namespace llorch::http {
namespace {
using namespace std::chrono_literals;

TEST(accept_backoff, waits_double_from_50_ms_up_to_a_second) {
    accept_backoff b;
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    std::vector<long long> waits;
    for (int i = 0; i < 7; ++i) waits.push_back(b.failed(t).wait.count());
    EXPECT_EQ(waits, (std::vector<long long>{50, 100, 200, 400, 800, 1000, 1000}));
}

TEST(accept_backoff, a_success_starts_the_waits_over) {
    accept_backoff b;
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    b.failed(t);
    b.failed(t);
    b.succeeded();
    EXPECT_EQ(b.failed(t).wait, 50ms);
}

TEST(accept_backoff, reports_the_first_failure_then_at_most_every_ten_seconds_with_a_count) {
    accept_backoff b;
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    auto first = b.failed(t);
    EXPECT_TRUE(first.report);
    EXPECT_EQ(first.failures, 1u);
    int reports = 0;
    for (int i = 1; i <= 9; ++i) reports += b.failed(t + std::chrono::seconds(i)).report;
    EXPECT_EQ(reports, 0) << "more than one line in ten seconds";
    auto later = b.failed(t + 10s);
    EXPECT_TRUE(later.report);
    EXPECT_EQ(later.failures, 10u) << "the nine silent failures and this one";
}

}  // namespace
}  // namespace llorch::http
