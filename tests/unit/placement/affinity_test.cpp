// Affinity rules (labels required or preferred by model pattern and priority) and the spread of a
// job's tasks across nodes, in the hybrid strategy.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "placement/placement_index.h"

namespace llorch::placement {
namespace {

pool_state pool(std::vector<std::string> labels, int slots = 4, int free = -1,
                std::vector<std::string> models = {"tiny", "qwen:32b"}) {
    pool_state s;
    s.models = std::move(models);
    s.engine = "llamacpp";
    s.ready = true;
    s.slots_total = slots;
    s.slots_free = free < 0 ? slots : free;
    s.labels = std::move(labels);
    return s;
}

placement_config hybrid(std::vector<affinity_rule> rules = {}) {
    placement_config c;
    c.strategy = placement_strategy::hybrid;
    c.hybrid = hybrid_weights{1.0, 0.0, 0.0, 0.5, 100.0};  // free capacity only
    c.rules = std::move(rules);
    return c;
}

placement_request req(std::string model, std::string priority = "interactive",
                      std::string job = {}) {
    placement_request r;
    r.model = std::move(model);
    r.priority = std::move(priority);
    r.job_id = std::move(job);
    return r;
}

affinity_rule require(std::string model, std::string label) {
    return affinity_rule{std::move(model), {}, std::move(label), true, 0.0};
}
affinity_rule prefer(std::string priority, std::string label, double weight) {
    return affinity_rule{{}, std::move(priority), std::move(label), false, weight};
}

TEST(glob_match, stars_and_question_marks) {
    EXPECT_TRUE(glob_match("*:32b", "qwen2.5-coder:32b"));
    EXPECT_FALSE(glob_match("*:32b", "qwen2.5:14b"));
    EXPECT_TRUE(glob_match("qwen*", "qwen"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("q?en:*b", "qwen:7b"));
    EXPECT_FALSE(glob_match("q?en", "qen"));
    EXPECT_TRUE(glob_match("a*b*c", "axxbyybzc"));
    EXPECT_FALSE(glob_match("a*b*c", "axxbyyb"));
    EXPECT_TRUE(glob_match("tiny", "tiny"));
    EXPECT_FALSE(glob_match("tiny", "tiny2"));
}

TEST(affinity, required_label_routes_matching_models_to_labelled_pools_only) {
    placement_index index(hybrid({require("*:32b", "big")}));
    index.upsert_node("a", "http://a");
    index.upsert_node("b", "http://b");
    index.upsert_pool("a", "small", pool({}, 8));
    auto big = index.upsert_pool("b", "large", pool({"big"}, 8, 2));  // fuller: scores lower

    auto d = index.place(req("qwen:32b"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "b");
    // Another model is not touched by the rule: the freer pool wins.
    d = index.place(req("tiny"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "a");

    // The labelled pool full: the task waits rather than run elsewhere.
    index.update_pool(big, pool({"big"}, 8, 0));
    d = index.place(req("qwen:32b"));
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), placement_errc::no_capacity);
}

TEST(affinity, preferred_label_wins_when_free_and_falls_back_when_busy) {
    placement_index index(hybrid({prefer("interactive", "fast", 0.5)}));
    index.upsert_node("a", "http://a");
    index.upsert_node("b", "http://b");
    index.upsert_pool("a", "plain", pool({}, 4));
    auto fast = index.upsert_pool("b", "quick", pool({"fast"}, 4, 3));  // 0.75 + 0.5 > 1.0

    auto d = index.place(req("tiny"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "b");
    // Batch tasks are not covered by the rule: the freer pool.
    d = index.place(req("tiny", "batch"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "a");

    index.update_pool(fast, pool({"fast"}, 4, 0));
    d = index.place(req("tiny"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "a");
}

TEST(affinity, negative_weight_steers_away_without_forbidding) {
    placement_index index(hybrid({prefer({}, "slow", -2.0)}));
    index.upsert_node("a", "http://a");
    index.upsert_node("b", "http://b");
    auto slow = index.upsert_pool("a", "p", pool({"slow"}, 4));
    index.upsert_pool("b", "p", pool({}, 4, 1));
    auto d = index.place(req("tiny"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "b");
    index.update_pool(index.find("b", "p").value(), pool({}, 4, 0));
    d = index.place(req("tiny"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, slow);
}

TEST(affinity, label_changes_in_a_report_are_applied) {
    placement_index index(hybrid({require("*", "big")}));
    index.upsert_node("a", "http://a");
    auto p = index.upsert_pool("a", "p", pool({}, 4));
    EXPECT_FALSE(index.place(req("tiny")));
    EXPECT_TRUE(index.update_pool(p, pool({"big"}, 4)));
    EXPECT_TRUE(index.place(req("tiny")));
}

TEST(affinity, session_bonus_still_keeps_a_session_together) {
    placement_index index(hybrid());
    index.upsert_node("a", "http://a");
    index.upsert_node("b", "http://b");
    auto a = index.upsert_pool("a", "p", pool({}, 4, 3));  // 0.75 + 0.5 affinity > 1.0
    index.upsert_pool("b", "p", pool({}, 4));
    auto r = req("tiny");
    r.session_pool = a;
    auto d = index.place(r);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, a);
}

TEST(affinity, tasks_of_one_job_spread_across_nodes) {
    placement_index index(hybrid());
    index.upsert_node("a", "http://a");
    index.upsert_node("b", "http://b");
    auto a = index.upsert_pool("a", "p", pool({}, 100));
    auto b = index.upsert_pool("b", "p", pool({}, 4, 3));  // 0.75

    auto d = index.place(req("tiny", "interactive", "job1"));
    ASSERT_TRUE(d);
    ASSERT_EQ(d->pool, a);
    index.on_dispatch(a, "job1");
    // a scores 0.99 − 0.3 spread < 0.75: the job's next task goes to the other node.
    d = index.place(req("tiny", "interactive", "job1"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, b);
    // Another job, or a task of no job, is not pushed away.
    d = index.place(req("tiny", "interactive", "job2"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, a);
    d = index.place(req("tiny"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, a);
    // Once the job's task ends, the node is no longer penalised.
    index.on_complete(a, true, std::nullopt, "job1");
    d = index.place(req("tiny", "interactive", "job1"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, a);
}

TEST(affinity, job_record_ends_with_its_tasks_even_after_the_pool_is_removed) {
    placement_index index(hybrid());
    index.upsert_node("a", "http://a");
    index.upsert_node("b", "http://b");
    auto a = index.upsert_pool("a", "p", pool({}, 100));
    index.upsert_pool("b", "p", pool({}, 4, 3));
    index.on_dispatch(a, "job1");
    index.remove_pool(a);
    index.on_complete(a, true, std::nullopt, "job1");  // stale handle: no crash, record gone
    auto a2 = index.upsert_pool("a", "p", pool({}, 100));
    auto d = index.place(req("tiny", "interactive", "job1"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, a2);
}

}  // namespace
}  // namespace llorch::placement
