#include "monitor/server_monitor.h"

#include <gtest/gtest.h>

namespace llorch::monitor {
namespace {

using namespace std::chrono_literals;
const time_point t0{std::chrono::hours(1)};

TEST(probe_health, falls_after_fall_consecutive_failures_and_rises_after_rise_good_ones) {
    probe_health h;
    EXPECT_TRUE(h.healthy());
    EXPECT_FALSE(h.record(false, 3, 2));
    EXPECT_FALSE(h.record(false, 3, 2));
    EXPECT_TRUE(h.record(false, 3, 2));  // third failure in a row
    EXPECT_FALSE(h.healthy());
    EXPECT_FALSE(h.record(true, 3, 2));
    EXPECT_FALSE(h.healthy());
    EXPECT_TRUE(h.record(true, 3, 2));  // second success in a row
    EXPECT_TRUE(h.healthy());
}

TEST(probe_health, a_good_probe_breaks_a_run_of_failures) {
    probe_health h;
    h.record(false, 3, 2);
    h.record(false, 3, 2);
    h.record(true, 3, 2);
    h.record(false, 3, 2);
    h.record(false, 3, 2);
    EXPECT_TRUE(h.healthy());
    EXPECT_EQ(h.bad_run(), 2);
    h.record(false, 3, 2);
    EXPECT_FALSE(h.healthy());
    // Unhealthy: a failure in between starts the rise count over.
    h.record(true, 3, 2);
    h.record(false, 3, 2);
    h.record(true, 3, 2);
    EXPECT_FALSE(h.healthy());
    h.record(true, 3, 2);
    EXPECT_TRUE(h.healthy());
}

TEST(probe_health, fall_and_rise_of_one_follow_every_probe) {
    probe_health h;
    EXPECT_TRUE(h.record(false, 1, 1));
    EXPECT_TRUE(h.record(true, 1, 1));
    EXPECT_FALSE(h.record(true, 1, 1));
}

TEST(error_window, counts_failures_over_the_window_and_forgets_older_ones) {
    error_window w(60s, 12);  // 5 s buckets
    w.add(true, t0);
    w.add(false, t0 + 1s);
    w.add(false, t0 + 10s);
    w.add(false, t0 + 20s);
    EXPECT_EQ(w.requests(t0 + 20s), 4u);
    EXPECT_EQ(w.failures(t0 + 20s), 1u);
    EXPECT_DOUBLE_EQ(w.rate(t0 + 20s), 0.25);
    // The first bucket (t0..t0+5s) leaves the window once 60 s have passed.
    EXPECT_EQ(w.requests(t0 + 61s), 2u);
    EXPECT_EQ(w.failures(t0 + 61s), 0u);
    EXPECT_DOUBLE_EQ(w.rate(t0 + 61s), 0.0);
    EXPECT_EQ(w.requests(t0 + 200s), 0u);
    // A reused bucket starts from zero.
    w.add(true, t0 + 200s);
    EXPECT_EQ(w.requests(t0 + 200s), 1u);
    EXPECT_DOUBLE_EQ(w.rate(t0 + 200s), 1.0);
}

TEST(server_monitor, unknown_upstreams_are_healthy_and_probes_mark_them) {
    server_monitor m;
    EXPECT_TRUE(m.healthy("", "a"));
    for (int i = 0; i < 2; ++i) EXPECT_FALSE(m.on_probe("", "a", false, t0 + i * 1s));
    EXPECT_TRUE(m.healthy("", "a"));
    EXPECT_TRUE(m.on_probe("", "a", false, t0 + 2s));
    EXPECT_FALSE(m.healthy("", "a"));
    EXPECT_TRUE(m.healthy("", "b"));
    auto v = m.view("", "a", {}, t0 + 5s);
    EXPECT_FALSE(v.healthy);
    EXPECT_EQ(v.probes_failed, 3u);
    EXPECT_EQ(v.bad_run, 3);
    EXPECT_EQ(v.last_probe_ms_ago, 3000);
    EXPECT_EQ(v.state_for_ms, 3000);  // unhealthy since the third failure
    m.on_probe("", "a", true, t0 + 6s);
    EXPECT_TRUE(m.on_probe("", "a", true, t0 + 7s));
    EXPECT_TRUE(m.healthy("", "a"));
}

TEST(server_monitor, configured_fall_and_rise_apply) {
    server_monitor m({.fall = 1, .rise = 3});
    EXPECT_TRUE(m.on_probe("n", "p", false, t0));
    m.on_probe("n", "p", true, t0);
    m.on_probe("n", "p", true, t0);
    EXPECT_FALSE(m.healthy("n", "p"));
    m.on_probe("n", "p", true, t0);
    EXPECT_TRUE(m.healthy("n", "p"));
}

TEST(server_monitor, an_unhealthy_node_makes_its_pools_unhealthy) {
    server_monitor m;
    m.on_probe("n1", "p", true, t0);
    for (int i = 0; i < 3; ++i) m.on_node_probe("n1", false, t0);
    EXPECT_FALSE(m.node_healthy("n1"));
    EXPECT_FALSE(m.healthy("n1", "p"));
    EXPECT_TRUE(m.healthy("n2", "p"));
    auto v = m.view("n1", "p", {}, t0);
    EXPECT_FALSE(v.healthy);
    EXPECT_TRUE(v.probe_healthy);
    m.on_node_probe("n1", true, t0);
    m.on_node_probe("n1", true, t0);
    EXPECT_TRUE(m.healthy("n1", "p"));
}

TEST(server_monitor, latency_averages_weigh_the_newest_request_by_alpha) {
    server_monitor m({.latency_alpha = 0.5});
    EXPECT_FALSE(m.view("", "a", {}, t0).ttft_ewma_ms);
    m.on_request("", "a", request_outcome::completed, 100.0, 1000.0, t0);
    m.on_request("", "a", request_outcome::completed, 200.0, 2000.0, t0);
    auto v = m.view("", "a", {}, t0);
    EXPECT_DOUBLE_EQ(*v.ttft_ewma_ms, 150.0);
    EXPECT_DOUBLE_EQ(*v.e2e_ewma_ms, 1500.0);
    // A failure's duration does not move the end-to-end average; its TTFT (when a token came)
    // does.
    m.on_request("", "a", request_outcome::failed, std::nullopt, 10.0, t0);
    v = m.view("", "a", {}, t0);
    EXPECT_DOUBLE_EQ(*v.ttft_ewma_ms, 150.0);
    EXPECT_DOUBLE_EQ(*v.e2e_ewma_ms, 1500.0);
}

TEST(server_monitor, error_rate_excludes_cancellations) {
    server_monitor m;
    m.on_request("", "a", request_outcome::completed, 1.0, 2.0, t0);
    m.on_request("", "a", request_outcome::failed, std::nullopt, 1.0, t0);
    m.on_request("", "a", request_outcome::cancelled, std::nullopt, 1.0, t0);
    m.on_request("", "a", request_outcome::completed, 1.0, 2.0, t0);
    auto v = m.view("", "a", {}, t0 + 1s);
    EXPECT_EQ(v.window_requests, 3u);
    EXPECT_EQ(v.window_failures, 1u);
    EXPECT_DOUBLE_EQ(v.error_rate, 1.0 / 3.0);
    EXPECT_EQ(v.requests_total, 4u);
    EXPECT_EQ(v.failures_total, 1u);
    EXPECT_DOUBLE_EQ(m.view("", "a", {}, t0 + 120s).error_rate, 0.0);
}

TEST(server_monitor, utilization_is_busy_slots_over_capacity) {
    server_monitor m;
    auto v = m.view("", "a", {.in_flight = 2, .busy = 3, .capacity = 4}, t0);
    EXPECT_EQ(v.in_flight, 2);
    EXPECT_DOUBLE_EQ(v.utilization, 0.75);
    v = m.view("", "a", {.in_flight = 2, .busy = 0, .capacity = 4}, t0);
    EXPECT_DOUBLE_EQ(v.utilization, 0.5);  // never below our own count
    EXPECT_DOUBLE_EQ(m.view("", "a", {}, t0).utilization, 0.0);
}

TEST(server_monitor, aggregates_a_node_from_its_upstreams) {
    server_monitor m;
    m.on_request("n", "a", request_outcome::completed, 100.0, 1000.0, t0);
    for (int i = 0; i < 3; ++i) {
        m.on_request("n", "b", request_outcome::completed, 300.0, 3000.0, t0);
        m.on_probe("n", "b", false, t0);
    }
    m.on_request("n", "b", request_outcome::failed, std::nullopt, 1.0, t0);
    std::vector<upstream_view> vs{m.view("n", "a", {.in_flight = 1, .busy = 1, .capacity = 2}, t0),
                                  m.view("n", "b", {.in_flight = 0, .busy = 2, .capacity = 2}, t0)};
    auto n = m.aggregate("n", vs);
    EXPECT_EQ(n.upstreams, 2);
    EXPECT_EQ(n.healthy_upstreams, 1);
    EXPECT_EQ(n.in_flight, 1);
    EXPECT_EQ(n.capacity, 4);
    EXPECT_DOUBLE_EQ(n.utilization, 0.75);
    EXPECT_DOUBLE_EQ(*n.ttft_ewma_ms, (1 * 100.0 + 4 * 300.0) / 5);  // weighted by requests
    EXPECT_EQ(n.window_requests, 5u);
    EXPECT_DOUBLE_EQ(n.error_rate, 0.2);
}

TEST(server_monitor, forget_removes_an_upstream_and_a_node_its_pools) {
    server_monitor m;
    for (int i = 0; i < 3; ++i) {
        m.on_probe("n1", "a", false, t0);
        m.on_probe("n10", "a", false, t0);
    }
    m.forget_node("n1");
    EXPECT_TRUE(m.healthy("n1", "a"));
    EXPECT_FALSE(m.healthy("n10", "a"));  // not a prefix match on the node id
    m.forget("n10", "a");
    EXPECT_TRUE(m.healthy("n10", "a"));
    EXPECT_EQ(m.upstream_count(), 0u);
}

TEST(monitor_config, validate_names_the_bad_setting) {
    EXPECT_TRUE(validate({}));
    auto r = validate({.fall = 0});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, monitor_errc::bad_threshold);
    EXPECT_NE(r.error().message.find("fall"), std::string::npos);
    EXPECT_FALSE(validate({.rise = 101}));
    EXPECT_EQ(validate({.latency_alpha = 0}).error().code, monitor_errc::bad_weight);
    EXPECT_EQ(validate({.error_window = std::chrono::milliseconds(10)}).error().code,
              monitor_errc::bad_window);
}

}  // namespace
}  // namespace llorch::monitor
