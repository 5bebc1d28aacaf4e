#include "sim/slot_table.h"

#include <gtest/gtest.h>

namespace llorch::sim {
namespace {

TEST(slot_table, grants_free_slots_then_queues) {
    slot_table s(2);
    EXPECT_EQ(s.acquire(1), 0);
    EXPECT_EQ(s.acquire(2), 1);
    EXPECT_EQ(s.acquire(3), std::nullopt);
    EXPECT_EQ(s.busy(), 2);
    EXPECT_EQ(s.waiting(), 1u);
    EXPECT_EQ(s.holder(1), 2u);
}

TEST(slot_table, hands_a_freed_slot_to_the_oldest_waiter) {
    slot_table s(1);
    s.acquire(1);
    s.acquire(2);
    s.acquire(3);
    auto next = s.release(1);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->first, 2u);
    EXPECT_EQ(next->second, 0);
    EXPECT_EQ(s.holder(0), 2u);
    next = s.release(2);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->first, 3u);
    EXPECT_FALSE(s.release(3));
    EXPECT_EQ(s.busy(), 0);
}

TEST(slot_table, a_waiter_that_leaves_is_skipped) {
    slot_table s(1);
    s.acquire(1);
    s.acquire(2);
    s.acquire(3);
    EXPECT_FALSE(s.release(2));
    EXPECT_EQ(s.waiting(), 1u);
    auto next = s.release(1);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->first, 3u);
}

TEST(slot_table, frees_the_exact_slot_released) {
    slot_table s(3);
    s.acquire(1);
    s.acquire(2);
    s.acquire(3);
    s.release(2);
    EXPECT_FALSE(s.holder(1));
    EXPECT_EQ(s.acquire(4), 1);
}

TEST(slot_table, ignores_unknown_and_repeated_releases) {
    slot_table s(1);
    s.acquire(1);
    EXPECT_FALSE(s.release(99));
    EXPECT_FALSE(s.release(1));
    EXPECT_FALSE(s.release(1));
    EXPECT_EQ(s.busy(), 0);
}

}  // namespace
}  // namespace llorch::sim
