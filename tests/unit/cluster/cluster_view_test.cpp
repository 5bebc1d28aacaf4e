#include "cluster/cluster_view.h"

#include <gtest/gtest.h>

namespace llorch::cluster {
namespace {
using namespace std::chrono_literals;

const time_point t0 = time_point{} + 1h;

pool_row pool(std::string id, std::string state, int free = 4) {
    pool_row p;
    p.id = std::move(id);
    p.state = std::move(state);
    p.model = "tiny";
    p.slots_total = 4;
    p.slots_free = free;
    return p;
}

TEST(cluster_view, pool_listings_yield_only_what_changed) {
    cluster_view v;
    auto first = v.set_pools({pool("a", "ready"), pool("b", "starting")});
    EXPECT_EQ(first.changed.size(), 2u);
    EXPECT_TRUE(v.set_pools({pool("a", "ready"), pool("b", "starting")}).empty());
    auto drained = v.set_pools({pool("a", "draining"), pool("b", "starting")});
    ASSERT_EQ(drained.changed.size(), 1u);
    EXPECT_EQ(drained.changed[0].id, "a");
    EXPECT_EQ(drained.changed[0].state, "draining");
    auto gone = v.set_pools({pool("a", "draining", 3)});
    ASSERT_EQ(gone.changed.size(), 1u);
    EXPECT_EQ(gone.changed[0].slots_free, 3);
    ASSERT_EQ(gone.removed.size(), 1u);
    EXPECT_EQ(gone.removed[0], "b");
    EXPECT_EQ(v.pools().size(), 1u);
}

TEST(cluster_view, node_listings_yield_only_what_changed) {
    cluster_view v;
    node_row n{.node_id = "n1", .state = "online", .last_heartbeat_ms = 1000};
    EXPECT_EQ(v.set_nodes({n}).changed.size(), 1u);
    EXPECT_TRUE(v.set_nodes({n}).empty());
    n.state = "offline";
    EXPECT_EQ(v.set_nodes({n}).changed.size(), 1u);
    EXPECT_EQ(v.set_nodes({}).removed, std::vector<std::string>{"n1"});
}

TEST(cluster_view, running_tasks_report_progress_tokens_per_second_and_ttft) {
    cluster_view v;
    v.task_started({.task_id = "t", .model = "tiny", .pool = "a", .started = t0});
    v.task_progress("t", 1, t0 + 100ms, t0 + 100ms);
    v.task_progress("t", 21, t0 + 100ms, t0 + 2100ms);
    const auto& t = v.running().at("t");
    EXPECT_EQ(t.tokens, 21);
    EXPECT_DOUBLE_EQ(cluster_view::ttft_ms(t), 100);
    EXPECT_DOUBLE_EQ(cluster_view::tokens_per_s(t, t0 + 2100ms), 10);
}

TEST(cluster_view, an_ended_task_leaves_the_running_list_and_feeds_the_figures) {
    cluster_view v({.stats = {.rate_window = 2s}});
    v.task_started({.task_id = "t", .started = t0});
    v.task_progress("t", 10, t0 + 50ms, t0 + 1s);
    v.task_ended({.task_id = "t", .outcome = "completed", .tokens = 30, .ttft_ms = 50}, 0,
                 t0 + 1500ms);
    EXPECT_TRUE(v.running().empty());
    EXPECT_TRUE(v.errors().empty());
    auto s = v.tick(t0 + 2s, 1234);
    EXPECT_EQ(s.at_ms, 1234);
    // 30 tokens in the 2 s window plus the current second's share (0 s into second 2).
    EXPECT_DOUBLE_EQ(s.tokens_per_s, 15);
    EXPECT_DOUBLE_EQ(s.ttft_p50_ms, 50);
    EXPECT_EQ(s.running, 0u);
}

TEST(cluster_view, keeps_the_latest_errors_with_their_codes_but_not_cancellations) {
    cluster_view v({.max_errors = 2});
    v.task_ended({.task_id = "c", .outcome = "cancelled", .error_code = "CANCELLED"}, 1, t0);
    EXPECT_TRUE(v.errors().empty());
    for (const auto* id : {"x", "y", "z"})
        v.task_ended(
            {.task_id = id, .outcome = "failed", .error_code = "WORKER_RESET", .message = "boom"},
            7, t0);
    ASSERT_EQ(v.errors().size(), 2u);
    EXPECT_EQ(v.errors().front().task_id, "y");
    EXPECT_EQ(v.errors().back().code, "WORKER_RESET");
    EXPECT_EQ(v.errors().back().at_ms, 7);
}

TEST(cluster_view, queue_depths_report_a_change_once) {
    cluster_view v;
    EXPECT_TRUE(v.set_queue({.interactive = 2, .batch = 1}));
    EXPECT_FALSE(v.set_queue({.interactive = 2, .batch = 1}));
    EXPECT_EQ(v.queue().total(), 3u);
}

}  // namespace
}  // namespace llorch::cluster
