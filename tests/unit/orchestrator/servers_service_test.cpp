// The server monitor wired to placement: probe verdicts move pools in and out of the eligible set
// (HOME pools, CLOUD nodes), and the listing joins the monitor's figures with placement's load.
#include "orchestrator/servers_service.h"

#include <gtest/gtest.h>

namespace llorch::orchestrator {
namespace {

placement::pool_state ready_pool(int slots = 4) {
    placement::pool_state st;
    st.models = {"tiny"};
    st.engine = "ollama";
    st.ready = true;
    st.slots_total = slots;
    st.slots_free = slots;
    return st;
}

placement::placement_request for_tiny() {
    placement::placement_request r;
    r.model = "tiny";
    return r;
}

TEST(servers_service, failed_probes_take_a_pool_out_of_placement_until_it_rises_again) {
    placement::placement_index index;
    servers_service s({}, index);
    auto a = index.upsert_pool("", "a", ready_pool());
    s.pool_probe("", "a", false);
    s.pool_probe("", "a", false);
    EXPECT_TRUE(index.find(a)->healthy);  // two failures: not yet
    s.pool_probe("", "a", false);
    EXPECT_FALSE(index.find(a)->healthy);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    s.pool_probe("", "a", true);
    EXPECT_FALSE(index.find(a)->healthy);  // rise = 2
    s.pool_probe("", "a", true);
    EXPECT_TRUE(index.find(a)->healthy);
    EXPECT_EQ(index.place(for_tiny())->pool, a);
}

TEST(servers_service, a_node_that_fails_its_probes_takes_its_pools_with_it) {
    placement::placement_index index;
    servers_service s({.fall = 1, .rise = 1}, index);
    auto p1 = index.upsert_pool("n1", "p", ready_pool());
    auto p2 = index.upsert_pool("n2", "p", ready_pool());
    s.node_probe("n1", false);
    EXPECT_FALSE(index.find(p1)->healthy);
    EXPECT_TRUE(index.find(p2)->healthy);
    EXPECT_EQ(index.place(for_tiny())->pool, p2);
    s.node_probe("n1", true);
    EXPECT_TRUE(index.find(p1)->healthy);
}

TEST(servers_service, a_heartbeat_reporting_a_failed_pool_counts_as_a_failed_probe) {
    placement::placement_index index;
    servers_service s({.fall = 2}, index);
    auto p = index.upsert_pool("n1", "p", ready_pool());
    s.pool_reported("n1", "p", true);
    s.pool_reported("n1", "p", true);
    EXPECT_FALSE(index.find(p)->healthy);
    // The registry re-creates the pool (a new registration): it starts healthy in the index,
    // and the next report applies the monitor's verdict again.
    index.remove_pool(p);
    p = index.upsert_pool("n1", "p", ready_pool());
    EXPECT_TRUE(index.find(p)->healthy);
    s.pool_reported("n1", "p", false);  // one good probe: rise is 2
    EXPECT_FALSE(index.find(p)->healthy);
}

TEST(servers_service, lists_every_pool_with_its_load_and_a_node_aggregate) {
    placement::placement_index index;
    servers_service s({}, index);
    auto a = index.upsert_pool("n1", "a", ready_pool(4));
    index.upsert_pool("n1", "b", ready_pool(2));
    index.on_dispatch(a);
    s.monitor().on_request("n1", "a", monitor::request_outcome::failed, std::nullopt, 5.0,
                           std::chrono::steady_clock::now());
    auto l = s.list(std::chrono::steady_clock::now());
    ASSERT_EQ(l.servers.size(), 2u);
    const auto& ra = l.servers[0].name == "n1/a" ? l.servers[0] : l.servers[1];
    EXPECT_EQ(ra.stats.in_flight, 1);
    EXPECT_EQ(ra.stats.capacity, 4);
    EXPECT_DOUBLE_EQ(ra.stats.utilization, 0.25);
    EXPECT_DOUBLE_EQ(ra.stats.error_rate, 1.0);
    EXPECT_TRUE(ra.available);
    EXPECT_EQ(ra.engine, "ollama");
    ASSERT_EQ(l.nodes.size(), 1u);
    EXPECT_EQ(l.nodes[0].capacity, 6);
    EXPECT_EQ(l.nodes[0].in_flight, 1);
    EXPECT_EQ(l.nodes[0].window_failures, 1u);
}

}  // namespace
}  // namespace llorch::orchestrator
