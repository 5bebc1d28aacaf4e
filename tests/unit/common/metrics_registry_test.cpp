#include "common/metrics.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace llorch::common {
namespace {

TEST(metrics_registry, renders_families_with_help_type_and_series_together) {
    metrics_registry r;
    r.counter("tasks_enqueued_total", "Tasks accepted into the queue.").Increment(3);
    r.gauge("pool_slots_free", "Free slots.", {{"pool_id", "p1"}}).Set(2);
    r.gauge("pool_slots_free", "Free slots.", {{"pool_id", "p2"}}).Set(0.5);
    auto& h = r.histogram("ttft_seconds", "Time to first token.", {0.1, 1}, {{"pool_id", "p1"}});
    h.Observe(0.05);
    h.Observe(0.5);
    h.Observe(2);

    const auto text = r.render();
    for (const char* line :
         {"# HELP tasks_enqueued_total Tasks accepted into the queue.\n"
          "# TYPE tasks_enqueued_total counter\n"
          "tasks_enqueued_total 3\n",
          "# HELP pool_slots_free Free slots.\n"
          "# TYPE pool_slots_free gauge\n",
          "pool_slots_free{pool_id=\"p1\"} 2\n", "pool_slots_free{pool_id=\"p2\"} 0.5\n",
          "# HELP ttft_seconds Time to first token.\n"
          "# TYPE ttft_seconds histogram\n"
          "ttft_seconds_count{pool_id=\"p1\"} 3\n"
          "ttft_seconds_sum{pool_id=\"p1\"} 2.55\n"
          "ttft_seconds_bucket{pool_id=\"p1\",le=\"0.1\"} 1\n"
          "ttft_seconds_bucket{pool_id=\"p1\",le=\"1\"} 2\n"
          "ttft_seconds_bucket{pool_id=\"p1\",le=\"+Inf\"} 3\n"})
        EXPECT_NE(text.find(line), std::string::npos) << "missing:\n" << line << "in:\n" << text;
}

TEST(metrics_registry, escapes_label_values_and_help) {
    metrics_registry r;
    r.counter("x_total", "a \\ b\nc", {{"path", "C:\\tmp \"q\"\nnext"}}).Increment();
    const auto text = r.render();
    EXPECT_NE(text.find("# HELP x_total a \\\\ b\\nc\n"), std::string::npos) << text;
    EXPECT_NE(text.find("x_total{path=\"C:\\\\tmp \\\"q\\\"\\nnext\"} 1\n"), std::string::npos)
        << text;
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
}

TEST(metrics_registry, scrape_families_keep_their_samples_together_and_follow_the_state) {
    metrics_registry r;
    r.counter("live_total", "Live.").Increment();
    std::vector<std::string> pools{"a", "b"};
    r.add_collector([&](scrape& s) {
        for (const auto& p : pools) {
            s.gauge("pool_slots_free", "Free slots.", {{"pool_id", p}}, 1);
            s.gauge("pool_ready", "Ready.", {{"pool_id", p}}, 0);
        }
    });
    auto text = r.render();
    // One family's lines together, as the format requires, even though reported interleaved.
    EXPECT_NE(text.find("pool_slots_free{pool_id=\"a\"} 1\npool_slots_free{pool_id=\"b\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '#'), 6) << text;
    pools = {"b"};  // pool a removed: its series go with it
    text = r.render();
    EXPECT_EQ(text.find("pool_id=\"a\""), std::string::npos) << text;
    EXPECT_NE(text.find("pool_ready{pool_id=\"b\"} 0\n"), std::string::npos) << text;
}

TEST(metrics_registry, a_scraped_name_that_is_also_live_is_refused) {
    metrics_registry r;
    r.gauge("queue_depth", "h").Set(1);
    r.add_collector([](scrape& s) { s.gauge("queue_depth", "h", {}, 2); });
    EXPECT_THROW(r.render(), std::logic_error);
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
