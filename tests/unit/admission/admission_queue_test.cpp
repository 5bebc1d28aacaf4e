#include "admission/admission_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace llorch::admission {
namespace {

// Builds "prefix<n>" by appending (g++ 12 warns falsely on `"literal" + std::string`).
std::string numbered(std::string_view prefix, long n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

using namespace std::chrono_literals;

const time_point t0{};

queued_task task(std::string id, task_priority p = task_priority::interactive,
                 std::string model = "tiny", std::optional<time_point> deadline = std::nullopt) {
    return queued_task{std::move(id), p, std::move(model), t0, deadline};
}

admission_config config(size_t capacity = 100, full_policy policy = full_policy::reject,
                        uint32_t batch_every = 4) {
    return admission_config{capacity, policy, batch_every};
}

std::vector<std::string> drain(admission_queue& q) {
    std::vector<std::string> order;
    while (auto t = q.take_next()) order.push_back(t->task_id);
    return order;
}

TEST(admission_queue, dispatches_interactive_before_batch_and_fifo_within_class) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("b1", task_priority::batch)));
    ASSERT_TRUE(q.push(task("i1")));
    ASSERT_TRUE(q.push(task("b2", task_priority::batch)));
    ASSERT_TRUE(q.push(task("i2")));
    EXPECT_EQ(drain(q), (std::vector<std::string>{"i1", "i2", "b1", "b2"}));
}

TEST(admission_queue, batch_goes_after_every_k_interactive_dispatches_while_batch_waits) {
    admission_queue q(config(100, full_policy::reject, 2));
    ASSERT_TRUE(q.push(task("b1", task_priority::batch)));
    ASSERT_TRUE(q.push(task("b2", task_priority::batch)));
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(q.push(task(numbered("i", i))));
    EXPECT_EQ(drain(q), (std::vector<std::string>{"i1", "i2", "b1", "i3", "i4", "b2", "i5"}));
}

TEST(admission_queue, interactive_streak_counts_only_while_batch_waits) {
    admission_queue q(config(100, full_policy::reject, 2));
    ASSERT_TRUE(q.push(task("i1")));
    ASSERT_TRUE(q.push(task("i2")));
    EXPECT_EQ(q.take_next()->task_id, "i1");  // no batch waiting: the streak stays 0
    EXPECT_EQ(q.take_next()->task_id, "i2");
    ASSERT_TRUE(q.push(task("b1", task_priority::batch)));
    ASSERT_TRUE(q.push(task("i3")));
    ASSERT_TRUE(q.push(task("i4")));
    ASSERT_TRUE(q.push(task("i5")));
    EXPECT_EQ(drain(q), (std::vector<std::string>{"i3", "i4", "b1", "i5"}));
}

TEST(admission_queue, rejects_when_queue_full) {
    admission_queue q(config(2));
    ASSERT_TRUE(q.push(task("a", task_priority::batch)));
    ASSERT_TRUE(q.push(task("b")));
    auto r = q.push(task("c"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), admission_errc::queue_full);
    EXPECT_EQ(q.size(), 2u);
    EXPECT_FALSE(q.contains("c"));
}

TEST(admission_queue, drop_lru_evicts_the_oldest_batch_task) {
    admission_queue q(config(3, full_policy::drop_lru));
    ASSERT_TRUE(q.push(task("i1")));
    ASSERT_TRUE(q.push(task("b1", task_priority::batch)));
    ASSERT_TRUE(q.push(task("b2", task_priority::batch)));
    auto r = q.push(task("i2"));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->evicted.has_value());
    EXPECT_EQ(r->evicted->task_id, "b1");
    EXPECT_FALSE(q.contains("b1"));
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(drain(q), (std::vector<std::string>{"i1", "i2", "b2"}));
}

TEST(admission_queue, drop_lru_rejects_when_no_batch_task_is_queued) {
    admission_queue q(config(2, full_policy::drop_lru));
    ASSERT_TRUE(q.push(task("i1")));
    ASSERT_TRUE(q.push(task("i2")));
    auto r = q.push(task("b1", task_priority::batch));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), admission_errc::queue_full);
    EXPECT_TRUE(q.contains("i1"));
    EXPECT_TRUE(q.contains("i2"));
}

TEST(admission_queue, refuses_a_duplicate_task_id) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("a")));
    auto r = q.push(task("a", task_priority::batch));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), admission_errc::duplicate_task);
    EXPECT_EQ(q.size(), 1u);
}

TEST(admission_queue, remove_cancels_a_queued_task) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("a")));
    ASSERT_TRUE(q.push(task("b")));
    auto removed = q.remove("a");
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->task_id, "a");
    EXPECT_FALSE(q.remove("a"));
    EXPECT_EQ(drain(q), (std::vector<std::string>{"b"}));
}

TEST(admission_queue, counts_size_per_class) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("i1")));
    ASSERT_TRUE(q.push(task("b1", task_priority::batch)));
    ASSERT_TRUE(q.push(task("b2", task_priority::batch)));
    EXPECT_EQ(q.size(task_priority::interactive), 1u);
    EXPECT_EQ(q.size(task_priority::batch), 2u);
    q.remove("b1");
    EXPECT_EQ(q.size(task_priority::batch), 1u);
    EXPECT_EQ(q.size(), 2u);
}

TEST(admission_queue, positions_follow_dispatch_order) {
    admission_queue q(config(100, full_policy::reject, 2));
    for (auto id : {"b1", "i1", "b2", "i2", "i3", "i4", "b3"}) {
        const bool batch = id[0] == 'b';
        ASSERT_TRUE(q.push(task(id, batch ? task_priority::batch : task_priority::interactive)));
    }
    // Order: i1 i2 b1 i3 i4 b2 b3
    EXPECT_EQ(q.position("i1"), 0u);
    EXPECT_EQ(q.position("i2"), 1u);
    EXPECT_EQ(q.position("b1"), 2u);
    EXPECT_EQ(q.position("i3"), 3u);
    EXPECT_EQ(q.position("i4"), 4u);
    EXPECT_EQ(q.position("b2"), 5u);
    EXPECT_EQ(q.position("b3"), 6u);
    EXPECT_FALSE(q.position("nope"));
}

TEST(admission_queue, positions_after_removals_match_what_take_next_does) {
    // Random pushes, removals and dispatches; after each step every task's position must be
    // its index in the order take_next() then produces on a copy of the same history.
    std::mt19937 rng(7);
    admission_queue q(config(10'000, full_policy::reject, 3));
    std::vector<std::string> live;
    int next = 0;
    for (int step = 0; step < 600; ++step) {
        const int op = static_cast<int>(rng() % 10);
        if (op < 6 || live.empty()) {
            const bool batch = rng() % 3 == 0;
            std::string id = numbered(batch ? "b" : "i", next++);
            ASSERT_TRUE(
                q.push(task(id, batch ? task_priority::batch : task_priority::interactive)));
            live.push_back(id);
        } else if (op < 8) {
            const size_t k = rng() % live.size();
            ASSERT_TRUE(q.remove(live[k]));
            live.erase(live.begin() + static_cast<long>(k));
        } else {
            auto t = q.take_next();
            ASSERT_TRUE(t);
            std::erase(live, t->task_id);
        }
    }
    // Positions predicted now must equal the actual dispatch order.
    std::vector<std::pair<size_t, std::string>> predicted;
    for (const auto& id : live) predicted.emplace_back(*q.position(id), id);
    std::sort(predicted.begin(), predicted.end());
    for (size_t i = 0; i < predicted.size(); ++i) ASSERT_EQ(predicted[i].first, i);
    const auto order = drain(q);
    ASSERT_EQ(order.size(), predicted.size());
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], predicted[i].second) << i;
}

TEST(admission_queue, positions_stay_exact_with_ten_thousand_queued_and_half_removed) {
    admission_queue q(config(10'000));
    for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(q.push(task(numbered("t", i))));
    for (int i = 0; i < 10'000; i += 2) ASSERT_TRUE(q.remove(numbered("t", i)));
    EXPECT_EQ(q.position("t1"), 0u);
    EXPECT_EQ(q.position("t5001"), 2'500u);
    EXPECT_EQ(q.position("t9999"), 4'999u);
}

TEST(admission_queue, take_next_skips_models_that_cannot_be_served_now) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("a1", task_priority::interactive, "big")));
    ASSERT_TRUE(q.push(task("b1", task_priority::interactive, "tiny")));
    ASSERT_TRUE(q.push(task("a2", task_priority::interactive, "big")));
    ASSERT_TRUE(q.push(task("b2", task_priority::interactive, "tiny")));
    int asked_big = 0;
    auto only_tiny = [&](std::string_view m) {
        asked_big += m == "big";
        return m == "tiny";
    };
    EXPECT_EQ(q.take_next(only_tiny)->task_id, "b1");
    EXPECT_EQ(q.take_next(only_tiny)->task_id, "b2");
    EXPECT_FALSE(q.take_next(only_tiny));
    EXPECT_EQ(asked_big, 3);  // once per call for the model at the head, not per task
    // Within a model the order stays FIFO.
    EXPECT_EQ(drain(q), (std::vector<std::string>{"a1", "a2"}));
}

TEST(admission_queue, batch_turn_goes_to_the_first_servable_batch_task) {
    admission_queue q(config(100, full_policy::reject, 1));
    ASSERT_TRUE(q.push(task("bx", task_priority::batch, "big")));
    ASSERT_TRUE(q.push(task("by", task_priority::batch, "tiny")));
    ASSERT_TRUE(q.push(task("i1", task_priority::interactive, "tiny")));
    ASSERT_TRUE(q.push(task("i2", task_priority::interactive, "tiny")));
    auto only_tiny = [](std::string_view m) { return m == "tiny"; };
    EXPECT_EQ(q.take_next(only_tiny)->task_id, "i1");
    EXPECT_EQ(q.take_next(only_tiny)->task_id, "by");  // batch turn; bx's model is busy
    EXPECT_EQ(q.take_next(only_tiny)->task_id, "i2");
    EXPECT_EQ(q.take_next()->task_id, "bx");
}

TEST(admission_queue, batch_is_dispatched_when_no_interactive_task_can_be_served) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("i1", task_priority::interactive, "big")));
    ASSERT_TRUE(q.push(task("b1", task_priority::batch, "tiny")));
    auto only_tiny = [](std::string_view m) { return m == "tiny"; };
    EXPECT_EQ(q.take_next(only_tiny)->task_id, "b1");
}

TEST(admission_queue, expire_returns_tasks_whose_deadline_passed_earliest_first) {
    admission_queue q(config());
    ASSERT_TRUE(q.push(task("late", task_priority::interactive, "tiny", t0 + 20s)));
    ASSERT_TRUE(q.push(task("none")));
    ASSERT_TRUE(q.push(task("soon", task_priority::batch, "tiny", t0 + 5s)));
    ASSERT_TRUE(q.push(task("mid", task_priority::interactive, "tiny", t0 + 10s)));
    EXPECT_TRUE(q.expire(t0 + 4s).empty());
    auto expired = q.expire(t0 + 10s);
    ASSERT_EQ(expired.size(), 2u);
    EXPECT_EQ(expired[0].task_id, "soon");
    EXPECT_EQ(expired[1].task_id, "mid");
    EXPECT_EQ(q.size(), 2u);
    EXPECT_FALSE(q.contains("mid"));
    q.remove("late");
    EXPECT_TRUE(q.expire(t0 + 1h).empty());  // a removed task's deadline is gone too
}

TEST(admission_queue, zero_batch_every_still_serves_interactive_first_once) {
    admission_queue q(config(100, full_policy::reject, 0));  // counts as 1
    ASSERT_TRUE(q.push(task("b1", task_priority::batch)));
    ASSERT_TRUE(q.push(task("i1")));
    ASSERT_TRUE(q.push(task("i2")));
    EXPECT_EQ(drain(q), (std::vector<std::string>{"i1", "b1", "i2"}));
}

}  // namespace
}  // namespace llorch::admission
