#include "common/metrics.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace llorch::common {
namespace {

TEST(metrics_registry, renders_exact_text_format_for_a_small_registry) {
    metrics_registry r;
    r.counter("tasks_enqueued_total", "Tasks accepted into the queue.").inc(3);
    r.gauge("pool_slots_free", "Free slots.", {{"pool_id", "p1"}}).set(2);
    r.gauge("pool_slots_free", "Free slots.", {{"pool_id", "p2"}}).set(0.5);
    auto& h = r.histogram("ttft_seconds", "Time to first token.", {0.1, 1}, {{"pool_id", "p1"}});
    h.observe(0.05);
    h.observe(0.5);
    h.observe(2);

    EXPECT_EQ(r.render(),
              "# HELP tasks_enqueued_total Tasks accepted into the queue.\n"
              "# TYPE tasks_enqueued_total counter\n"
              "tasks_enqueued_total 3\n"
              "# HELP pool_slots_free Free slots.\n"
              "# TYPE pool_slots_free gauge\n"
              "pool_slots_free{pool_id=\"p1\"} 2\n"
              "pool_slots_free{pool_id=\"p2\"} 0.5\n"
              "# HELP ttft_seconds Time to first token.\n"
              "# TYPE ttft_seconds histogram\n"
              "ttft_seconds_bucket{pool_id=\"p1\",le=\"0.1\"} 1\n"
              "ttft_seconds_bucket{pool_id=\"p1\",le=\"1\"} 2\n"
              "ttft_seconds_bucket{pool_id=\"p1\",le=\"+Inf\"} 3\n"
              "ttft_seconds_sum{pool_id=\"p1\"} 2.55\n"
              "ttft_seconds_count{pool_id=\"p1\"} 3\n");
}

TEST(metrics_registry, escapes_label_values_and_help) {
    metrics_registry r;
    r.counter("x_total", "a \\ b\nc", {{"path", "C:\\tmp \"q\"\nnext"}}).inc();
    EXPECT_EQ(r.render(),
              "# HELP x_total a \\\\ b\\nc\n"
              "# TYPE x_total counter\n"
              "x_total{path=\"C:\\\\tmp \\\"q\\\"\\nnext\"} 1\n");
}

TEST(metrics_registry, histogram_buckets_are_cumulative_and_inclusive) {
    histogram h({1, 2, 5});
    for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 10.0}) h.observe(v);
    EXPECT_EQ(h.cumulative_counts(), (std::vector<uint64_t>{2, 4, 5, 6}));
    EXPECT_EQ(h.count(), 6u);
    EXPECT_DOUBLE_EQ(h.sum(), 18.0);
}

TEST(metrics_registry, histogram_without_labels_renders_le_alone) {
    metrics_registry r;
    r.histogram("lat_seconds", "h", {0.5}).observe(0.25);
    EXPECT_EQ(r.render(),
              "# HELP lat_seconds h\n"
              "# TYPE lat_seconds histogram\n"
              "lat_seconds_bucket{le=\"0.5\"} 1\n"
              "lat_seconds_bucket{le=\"+Inf\"} 1\n"
              "lat_seconds_sum 0.25\n"
              "lat_seconds_count 1\n");
}

TEST(metrics_registry, same_name_and_labels_return_the_same_object) {
    metrics_registry r;
    auto& a = r.counter("c_total", "h", {{"a", "1"}, {"b", "2"}});
    auto& other = r.counter("c_total", "h", {{"a", "2"}, {"b", "2"}});
    // Many registrations after the first must not move it.
    for (int i = 0; i < 1000; ++i) r.gauge(fmt::format("g{}", i), "h");
    auto& again = r.counter("c_total", "h", {{"b", "2"}, {"a", "1"}});
    EXPECT_EQ(&a, &again);
    EXPECT_NE(&a, &other);
    auto& g1 = r.gauge("g5", "h");
    auto& g2 = r.gauge("g5", "h");
    EXPECT_EQ(&g1, &g2);
    auto& h1 = r.histogram("h_seconds", "h", default_latency_buckets());
    auto& h2 = r.histogram("h_seconds", "h", default_latency_buckets());
    EXPECT_EQ(&h1, &h2);
}

TEST(metrics_registry, rejects_a_name_reused_with_another_type) {
    metrics_registry r;
    r.gauge("queue_depth", "h");
    EXPECT_THROW(r.counter("queue_depth", "h"), std::logic_error);
    EXPECT_THROW(r.histogram("queue_depth", "h", {1}), std::logic_error);
}

TEST(metrics_registry, rejects_invalid_names_and_buckets) {
    metrics_registry r;
    EXPECT_THROW(r.counter("9lives", "h"), std::logic_error);
    EXPECT_THROW(r.counter("a-b", "h"), std::logic_error);
    EXPECT_THROW(r.counter("ok_total", "h", {{"bad-label", "v"}}), std::logic_error);
    EXPECT_THROW(r.histogram("h1", "h", {1, 1}), std::logic_error);
    EXPECT_THROW(r.histogram("h2", "h", {1}, {{"le", "x"}}), std::logic_error);
    r.histogram("h3", "h", {1, 2});
    EXPECT_THROW(r.histogram("h3", "h", {1, 3}), std::logic_error);
    EXPECT_THROW(r.counter("c_total", "h").inc(-1), std::logic_error);
}

TEST(metrics_registry, gauge_moves_both_ways) {
    gauge g;
    g.inc(5);
    g.dec(2);
    EXPECT_EQ(g.value(), 3);
    g.set(-1.5);
    EXPECT_EQ(g.value(), -1.5);
}

TEST(metrics_registry, formats_special_values_as_prometheus_does) {
    EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_metric_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(format_metric_value(0.0005), "0.0005");
    EXPECT_EQ(format_metric_value(60), "60");
}

TEST(metrics_registry, default_latency_buckets_span_half_a_millisecond_to_a_minute) {
    const auto b = default_latency_buckets();
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(b.front(), 0.0005);
    EXPECT_EQ(b.back(), 60);
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

}  // namespace
}  // namespace llorch::common
