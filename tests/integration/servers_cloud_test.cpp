// The server monitor in the CLOUD profile: real pool-managerd nodes with llama-server on the tiny
// model. Each heartbeat is a probe of its node and pools; GET /v2/servers lists every node's
// pools as `node_id/pool_id` with a per-node aggregate; a node that dies fails its node probe and
// takes its pools out of the listing's healthy set (and of placement).

#include "cloud_fixture.h"

namespace llorch::test {
namespace {

json::object listing(const control_plane& cp) {
    auto r = cp.call("GET", "/v2/servers");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? object_of(r.body) : json::object{};
}

json::object entry(const json::object& l, const char* list, const char* key,
                   const std::string& name) {
    if (!l.contains(list)) return {};
    for (const auto& s : l.at(list).as_array())
        if (str_of(s.as_object(), key) == name) return s.as_object();
    return {};
}

TEST(servers_cloud, heartbeats_are_probes_and_a_dead_node_turns_unhealthy) {
    engine_or_skip();
    control_plane cp({.args = {"--monitor-fall", "1", "--monitor-rise", "1"}});
    node_process a("node-a", pool_toml("p1", models().alpha, 1), cp.base());
    node_process b("node-b", pool_toml("p1", models().alpha, 1), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    auto r = cp.run_task(short_task());
    ASSERT_TRUE(completed(r));
    const auto ran_on = node_of(r);

    // Heartbeats every 0.5 s count as good probes of each pool.
    ASSERT_TRUE(wait_until(
        [&] {
            auto l = listing(cp);
            for (const char* n : {"node-a/p1", "node-b/p1"}) {
                auto s = entry(l, "servers", "name", n);
                if (s.empty() || s.at("health").at("probes_ok").to_number<long long>() < 2)
                    return false;
            }
            return true;
        },
        30s))
        << json::serialize(listing(cp));
    auto l = listing(cp);
    EXPECT_EQ(str_of(l, "profile"), "cloud");
    auto used = entry(l, "servers", "name", ran_on + "/p1");
    EXPECT_EQ(int_of(used, "requests_total"), 1) << json::serialize(used);
    EXPECT_TRUE(used.at("ttft_ewma_ms").is_number());
    auto node = entry(l, "nodes", "node_id", ran_on);
    ASSERT_FALSE(node.empty()) << json::serialize(l);
    EXPECT_TRUE(node.at("healthy").as_bool());
    EXPECT_EQ(int_of(node, "upstreams"), 1);
    EXPECT_EQ(int_of(node, "healthy_upstreams"), 1);
    EXPECT_EQ(int_of(node, "capacity"), 1);
    EXPECT_EQ(int_of(node, "window_requests"), 1);

    // node-b dies: a failed node probe (fall 1) marks it and its pool unhealthy; node-a is not.
    b.kill9();
    ASSERT_TRUE(wait_until(
        [&] {
            auto n = entry(listing(cp), "nodes", "node_id", "node-b");
            return !n.empty() && !n.at("healthy").as_bool();
        },
        15s))
        << json::serialize(listing(cp));
    l = listing(cp);
    EXPECT_FALSE(entry(l, "servers", "name", "node-b/p1").at("health").at("healthy").as_bool());
    EXPECT_TRUE(entry(l, "nodes", "node_id", "node-a").at("healthy").as_bool());
    auto again = cp.run_task(short_task());
    EXPECT_TRUE(completed(again));
    EXPECT_EQ(node_of(again), "node-a");
}

}  // namespace
}  // namespace llorch::test
