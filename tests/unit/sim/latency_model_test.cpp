#include "sim/latency_model.h"

#include <gtest/gtest.h>

namespace llorch::sim {
namespace {
using namespace std::chrono_literals;
using us = std::chrono::microseconds;

TEST(latency_model, fixed_always_gives_its_value) {
    std::mt19937_64 rng(1);
    auto m = latency_model::fixed(20ms);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(m.sample(rng), us(20'000));
}

TEST(latency_model, uniform_stays_within_bounds_and_covers_them) {
    std::mt19937_64 rng(42);
    auto m = latency_model::uniform(10ms, 30ms);
    us lo = us::max(), hi = us::min();
    double sum = 0;
    const int n = 100'000;
    for (int i = 0; i < n; ++i) {
        auto d = m.sample(rng);
        ASSERT_GE(d, 10ms);
        ASSERT_LE(d, 30ms);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
        sum += static_cast<double>(d.count());
    }
    EXPECT_LT(lo, us(10'100));
    EXPECT_GT(hi, us(29'900));
    EXPECT_NEAR(sum / n, 20'000.0, 200.0);
}

TEST(latency_model, exponential_has_its_mean_and_respects_the_cap) {
    std::mt19937_64 rng(7);
    auto m = latency_model::exponential(20ms);
    double sum = 0;
    const int n = 200'000;
    for (int i = 0; i < n; ++i) {
        auto d = m.sample(rng);
        ASSERT_GE(d.count(), 0);
        ASSERT_LE(d, m.max());
        sum += static_cast<double>(d.count());
    }
    EXPECT_NEAR(sum / n, 20'000.0, 400.0);
    EXPECT_EQ(m.max(), 400ms);
}

TEST(latency_model, same_seed_gives_the_same_sequence) {
    auto m = latency_model::exponential(5ms);
    std::mt19937_64 a(99), b(99), c(100);
    bool differs = false;
    for (int i = 0; i < 50; ++i) {
        auto x = m.sample(a);
        EXPECT_EQ(x, m.sample(b));
        differs |= x != m.sample(c);
    }
    EXPECT_TRUE(differs);
}

TEST(latency_model, parses_every_spec_form) {
    auto f = latency_model::parse("20ms");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type(), latency_model::kind::fixed);
    EXPECT_EQ(f->mean(), 20ms);
    auto f2 = latency_model::parse("fixed:1.5s");
    ASSERT_TRUE(f2);
    EXPECT_EQ(f2->mean(), 1500ms);
    auto u = latency_model::parse("uniform:250us..3ms");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->type(), latency_model::kind::uniform);
    EXPECT_EQ(u->min(), 250us);
    EXPECT_EQ(u->max(), 3ms);
    auto e = latency_model::parse("exp:7");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type(), latency_model::kind::exponential);
    EXPECT_EQ(e->mean(), 7ms);
    EXPECT_EQ(u->describe(), "uniform:250us..3ms");
    EXPECT_EQ(e->describe(), "exp:7ms");
}

TEST(latency_model, rejects_malformed_specs) {
    for (const char* bad : {"", "fast", "20m s", "-5ms", "uniform:30ms..10ms", "uniform:10ms",
                            "gauss:10ms", "exp:", "ms", "25h"}) {
        EXPECT_FALSE(latency_model::parse(bad)) << bad;
    }
}

TEST(latency_model, parse_duration_reads_units) {
    EXPECT_EQ(*parse_duration("250us"), 250us);
    EXPECT_EQ(*parse_duration("20"), 20ms);
    EXPECT_EQ(*parse_duration("0.5ms"), 500us);
    EXPECT_EQ(*parse_duration("2s"), 2s);
    EXPECT_FALSE(parse_duration("2 s"));
}

}  // namespace
}  // namespace llorch::sim
