// Faults between machines: orchestratord and two pool-managerd nodes each in a network namespace
// of its own (netns_fixture.h), tokens required as on any non-loopback address, real llama-server
// engines. Each fault has its expected outcome asserted: who fails, how fast (generous bounds;
// the measured figures are printed), nothing duplicated, nothing lost.
#include <gtest/gtest.h>

#include "netns_fixture.h"

namespace llorch::test {
namespace {

const std::string api_token = "netns-api-token-0123456789";
const std::string service_token = "netns-service-token-0123456789";

// Token events carry i = 0, 1, 2, ... with no gap and no repeat: nothing duplicated, nothing lost.
::testing::AssertionResult tokens_in_order(const sse_result& r) {
    long long next = 0;
    for (const auto& e : r.events) {
        if (e.event != "token") continue;
        auto i = int_of(object_of(e.data), "i");
        if (i != next) return ::testing::AssertionFailure() << "token " << i << " after " << next;
        ++next;
    }
    return ::testing::AssertionSuccess();
}

struct cluster {
    netns_lab lab{3};
    control_plane cp{
        {.node_timeout_ms = 2000,
         .env = {{"LLORCH_API_TOKEN", api_token}, {"LLORCH_SERVICE_TOKEN", service_token}},
         .auth = bearer(api_token),
         .where = lab.place(0)}};
    header_pairs node_env{{"LLORCH_SERVICE_TOKEN", service_token}};
    node_process a{"node-a", pool_toml("p", models().alpha, 2), cp.base(), node_env, lab.place(1)};
    node_process b{"node-b", pool_toml("p", models().alpha, 2), cp.base(), node_env, lab.place(2)};
};

TEST(netns, a_partitioned_node_goes_offline_its_stream_fails_and_it_returns_when_joined_again) {
    cluster c;
    auto& cp = c.cp;
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    auto long_id = cp.submit_id(long_task("alpha", pinned("node-a/p")));
    stream_reader stream(cp, long_id);
    ASSERT_TRUE(cp.wait_generating(long_id));

    auto cut = steady::now();
    c.lab.link(1, false);  // node-a's machine off the network: no RST, packets vanish
    ASSERT_TRUE(cp.wait_node_state("node-a", "offline", 15s)) << cp.node_state("node-a");
    const auto offline_ms = ms_since(cut);
    ASSERT_TRUE(stream.wait_done(15s)) << "the partitioned node's stream hangs";
    const auto stream_ms = ms_since(cut);
    EXPECT_TRUE(ended_with_error(stream.result(), {"UPSTREAM_FAILED", "WORKER_RESET"}));
    EXPECT_TRUE(tokens_in_order(stream.result()));
    std::cout << "[ figures  ] partition -> node-a offline: " << offline_ms
              << " ms (node timeout 2000 ms); its stream ended by " << stream_ms << " ms"
              << std::endl;
    EXPECT_GE(offline_ms, 2000 - heartbeat_ms - 300);
    EXPECT_LE(offline_ms, 2000 + 1000 + 3000);

    // Meanwhile new work runs on node-b, every token once.
    for (int i = 0; i < 3; ++i) {
        auto r = cp.run_task(short_task());
        EXPECT_TRUE(completed(r)) << "task " << i << " during the partition";
        EXPECT_EQ(node_of(r), "node-b");
        EXPECT_TRUE(tokens_in_order(r));
    }

    // The partition lasts past the node's heartbeat timeout (5 s), so that its agent sees a
    // heartbeat fail rather than one merely delayed.
    std::this_thread::sleep_until(cut + 6s);
    auto joined = steady::now();
    c.lab.link(1, true);
    ASSERT_TRUE(cp.wait_node_state("node-a", "online", 20s)) << cp.node_state("node-a");
    std::cout << "[ figures  ] link up -> node-a online: " << ms_since(joined) << " ms"
              << std::endl;
    auto r = cp.run_task(short_task("alpha", pinned("node-a/p")));
    EXPECT_TRUE(completed(r)) << "node-a serves again";
    EXPECT_EQ(node_of(r), "node-a");
    // The node counted the heartbeats the partition swallowed.
    auto m = http_call("GET", c.a.url("/metrics"), {}, {}, 5s).body;
    EXPECT_GT(metric_value(m, R"(node_heartbeats_total{outcome="failed"})"), 0) << m;
}

TEST(netns, a_node_killed_on_its_machine_fails_its_stream_at_once_and_rejoins_after_a_restart) {
    cluster c;
    auto& cp = c.cp;
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    auto engines = c.a.engine_pids(bearer(service_token));
    ASSERT_EQ(engines.size(), 1u);

    auto long_id = cp.submit_id(long_task("alpha", pinned("node-a/p")));
    stream_reader stream(cp, long_id);
    ASSERT_TRUE(cp.wait_generating(long_id));
    auto killed = steady::now();
    c.a.kill9();
    // The connection breaks with the process: no wait for the node timeout.
    ASSERT_TRUE(stream.wait_done(10s)) << "the killed node's stream hangs";
    const auto stream_ms = ms_since(killed);
    EXPECT_TRUE(ended_with_error(stream.result(), {"UPSTREAM_FAILED", "WORKER_RESET"}));
    EXPECT_TRUE(tokens_in_order(stream.result()));
    EXPECT_TRUE(wait_until([&] { return !process_alive(engines[0]); }, 15s))
        << "engine " << engines[0] << " outlived its killed node";
    ASSERT_TRUE(cp.wait_node_state("node-a", "offline", 15s)) << cp.node_state("node-a");
    std::cout << "[ figures  ] kill -9 -> stream ended: " << stream_ms << " ms; node offline by "
              << ms_since(killed) << " ms" << std::endl;
    EXPECT_TRUE(completed(cp.run_task(short_task())));

    c.a.start();
    ASSERT_TRUE(cp.wait_node_state("node-a", "online", 30s)) << cp.node_state("node-a");
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& p : cp.pools()) {
                const auto& o = p.as_object();
                auto* ready = o.if_contains("ready");
                if (str_of(o, "node_id") == "node-a" && ready && ready->is_bool() &&
                    ready->get_bool())
                    return true;
            }
            return false;
        },
        60s));
    auto r = cp.run_task(short_task("alpha", pinned("node-a/p")));
    EXPECT_TRUE(completed(r)) << "node-a serves after its restart";
}

TEST(netns, a_slow_link_to_a_node_still_delivers_every_token_once_and_in_order) {
    cluster c;
    auto& cp = c.cp;
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    c.lab.limit(1, "64kbit");  // what node-a sends: ~8 KB/s
    auto began = steady::now();
    auto r = cp.run_task(task_body("alpha", 200, pinned("node-a/p")));
    const auto slow_ms = ms_since(began);
    c.lab.limit(1, "");
    ASSERT_TRUE(completed(r));
    EXPECT_TRUE(tokens_in_order(r));
    EXPECT_EQ(count_events(r, "token"), 200);
    EXPECT_EQ(cp.node_state("node-a"), "online") << "a slow link is not a dead node";
    began = steady::now();
    auto fast = cp.run_task(task_body("alpha", 200, pinned("node-a/p")));
    ASSERT_TRUE(completed(fast));
    std::cout << "[ figures  ] 200 tokens from node-a over 64 kbit/s: " << slow_ms
              << " ms; unlimited: " << ms_since(began) << " ms" << std::endl;
}

}  // namespace
}  // namespace llorch::test
