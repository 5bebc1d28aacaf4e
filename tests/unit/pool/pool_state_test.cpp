#include <gtest/gtest.h>

#include <array>

#include "pool/pool_state.h"

namespace llorch::pool {
namespace {

using enum pool_state;

constexpr std::array<pool_state, 8> all_states = {uninitialized, provisioning, starting, ready,
                                                  draining,      offline,      failed,   unloading};

TEST(pool_state, follows_the_main_path) {
    EXPECT_TRUE(can_transition(uninitialized, provisioning));
    EXPECT_TRUE(can_transition(provisioning, starting));
    EXPECT_TRUE(can_transition(starting, ready));
    EXPECT_TRUE(can_transition(ready, draining));
    EXPECT_TRUE(can_transition(draining, offline));
}

TEST(pool_state, fails_from_provisioning_starting_and_ready_only) {
    for (auto from : all_states) {
        const bool expected = from == provisioning || from == starting || from == ready;
        EXPECT_EQ(can_transition(from, failed), expected) << to_string(from);
    }
}

TEST(pool_state, restarts_engine_from_ready_and_pool_from_offline_or_failed) {
    EXPECT_TRUE(can_transition(ready, starting));
    EXPECT_TRUE(can_transition(offline, provisioning));
    EXPECT_TRUE(can_transition(failed, provisioning));
}

TEST(pool_state, stops_before_ready_through_draining) {
    EXPECT_TRUE(can_transition(provisioning, draining));
    EXPECT_TRUE(can_transition(starting, draining));
    EXPECT_TRUE(can_transition(failed, offline));
}

TEST(pool_state, rejects_shortcuts_and_backward_moves) {
    EXPECT_FALSE(can_transition(uninitialized, ready));
    EXPECT_FALSE(can_transition(uninitialized, starting));
    EXPECT_FALSE(can_transition(provisioning, ready));
    EXPECT_FALSE(can_transition(ready, offline));
    EXPECT_FALSE(can_transition(ready, provisioning));
    EXPECT_FALSE(can_transition(draining, ready));
    EXPECT_FALSE(can_transition(draining, failed));
    EXPECT_FALSE(can_transition(offline, ready));
    EXPECT_FALSE(can_transition(offline, starting));
    EXPECT_FALSE(can_transition(failed, ready));
    EXPECT_FALSE(can_transition(failed, starting));
}

TEST(pool_state, never_returns_to_uninitialized_nor_stays_put) {
    for (auto from : all_states) {
        EXPECT_FALSE(can_transition(from, uninitialized)) << to_string(from);
        EXPECT_FALSE(can_transition(from, from)) << to_string(from);
    }
}

TEST(pool_state, counts_exactly_the_drawn_edges) {
    int edges = 0;
    for (auto from : all_states) {
        for (auto to : all_states) edges += can_transition(from, to) ? 1 : 0;
    }
    // 5 main path + 3 to failed + 3 restarts + 3 early stops + 3 of an on-demand unload.
    EXPECT_EQ(edges, 17);
}

TEST(pool_state, an_on_demand_pool_unloads_from_ready_to_offline) {
    EXPECT_TRUE(can_transition(ready, unloading));
    EXPECT_TRUE(can_transition(unloading, offline));
    EXPECT_TRUE(can_transition(unloading, draining));  // the daemon stops meanwhile
    EXPECT_FALSE(can_transition(starting, unloading));
    EXPECT_FALSE(can_transition(unloading, ready));
    EXPECT_FALSE(accepts_requests(unloading));
}

TEST(pool_state, names_round_trip) {
    EXPECT_EQ(to_string(uninitialized), "uninitialized");
    EXPECT_EQ(to_string(ready), "ready");
    EXPECT_EQ(to_string(failed), "failed");
    for (auto state : all_states) EXPECT_EQ(parse_pool_state(to_string(state)), state);
    EXPECT_EQ(parse_pool_state("Ready"), std::nullopt);
    EXPECT_EQ(parse_pool_state(""), std::nullopt);
}

TEST(pool_state, only_ready_accepts_requests) {
    for (auto state : all_states) EXPECT_EQ(accepts_requests(state), state == ready);
}

}  // namespace
}  // namespace llorch::pool
