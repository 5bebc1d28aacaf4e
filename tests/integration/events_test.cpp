// GET /v2/events against the real daemons and the real llama-server on the tiny model: the
// token it needs, the snapshot, the task events of a task started through the API, the stats,
// a drained pool (HOME), and a node with its pools and a drained node (CLOUD).
#include <gtest/gtest.h>

#include "cloud_fixture.h"
#include "events_fixture.h"

namespace llorch::test {
namespace {

TEST(events_home, needs_the_token) {
    engine_or_skip();
    home_daemon d("events-auth", tiny_pool("tiny", 1));
    auto r = http_call("GET", d.url("/v2/events"), {}, {}, 5s);
    EXPECT_EQ(r.status, 401) << r.body << d.log_text();
    EXPECT_EQ(str_of(object_of(r.body), "code"), "MISSING_TOKEN");
}

TEST(dashboard_page, browsers_get_the_page_without_a_token_and_others_ollamas_root_with_one) {
    engine_or_skip();
    home_daemon d("dashboard-root", tiny_pool("tiny", 1));
    header_pairs browser{{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}};
    auto page = http_call("GET", d.url("/"), {}, browser, 5s);
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("/ui/dashboard.js"), std::string::npos) << page.body;
    auto js = http_call("GET", d.url("/ui/dashboard.js"), {}, {}, 5s);
    EXPECT_EQ(js.status, 200);
    EXPECT_NE(js.body.find("/v2/events"), std::string::npos);
    EXPECT_EQ(http_call("GET", d.url("/ui/nope.js"), {}, {}, 5s).status, 404);
    // Not a browser: Ollama's root, behind the token like before.
    auto bare = http_call("GET", d.url("/"), {}, {}, 5s);
    EXPECT_EQ(bare.status, 401) << bare.body;
    auto ollama = http_call("GET", d.url("/"), {}, with_token(), 5s);
    EXPECT_EQ(ollama.status, 200);
    EXPECT_NE(ollama.body.find("Ollama is running"), std::string::npos) << ollama.body;
    auto json_client = http_call("GET", d.url("/"), {}, {{"Accept", "application/json"}}, 5s);
    EXPECT_EQ(json_client.status, 401);
}

TEST(events_home, shows_a_task_live_and_a_drained_pool) {
    engine_or_skip();
    home_daemon d("events-home", tiny_pool("tiny", 2));
    ASSERT_EQ(d.wait_ready(), "");
    event_stream s(d.url("/v2/events"), with_token());
    auto snap = s.wait_for("snapshot");
    ASSERT_TRUE(snap) << d.log_text();
    EXPECT_EQ(str_of(*snap, "profile"), "home");
    auto* pool = find_in(*snap, "pools", "id", "tiny");
    ASSERT_NE(pool, nullptr) << json::serialize(*snap);
    EXPECT_EQ(str_of(*pool, "state"), "ready");
    EXPECT_EQ(str_of(*pool, "device"), "cpu");
    EXPECT_EQ(int_of(*pool, "slots_total"), 2);

    auto id = d.submit_id(tiny_task(48));
    ASSERT_FALSE(id.empty());
    auto is_ours = [&](const json::object& o) { return str_of(o, "task_id") == id; };
    EXPECT_TRUE(s.wait_for("task_queued", is_ours));
    auto started = s.wait_for("task_started", is_ours);
    ASSERT_TRUE(started);
    EXPECT_EQ(str_of(*started, "pool"), "tiny");
    auto ended = s.wait_for("task_ended", is_ours, 60s);
    ASSERT_TRUE(ended);
    EXPECT_EQ(str_of(*ended, "outcome"), "completed");
    EXPECT_EQ(int_of(*ended, "tokens"), 48);
    EXPECT_GE(ended->at("ttft_ms").to_number<double>(), 0);
    auto stats = s.wait_for("stats", [](const json::object& o) {
        auto* v = o.if_contains("tokens_per_s");
        return v && v->is_number() && v->to_number<double>() > 0;
    });
    ASSERT_TRUE(stats) << "no stats event counted the task's tokens";
    auto ttft = s.wait_for("stats", [](const json::object& o) {
        auto* v = o.if_contains("ttft_p50_ms");
        return v && v->is_number();
    });
    EXPECT_TRUE(ttft) << "no stats event had a TTFT percentile";

    ASSERT_EQ(d.call("POST", "/v2/pools/tiny/drain", R"({"deadline_ms":1000})").status, 202);
    auto drained = s.wait_for("pool", [](const json::object& o) {
        auto st = str_of(o, "state");
        return str_of(o, "id") == "tiny" && (st == "draining" || st == "offline");
    });
    EXPECT_TRUE(drained) << "the pool's drain never showed in the stream";
}

TEST(events_cloud, shows_nodes_with_their_pools_and_a_drained_node) {
    engine_or_skip();
    const std::string service = "events-service-token-0123456789";
    plane_options po;
    po.env = env_with(env_with(no_tokens, "LLORCH_API_TOKEN", events_token), "LLORCH_SERVICE_TOKEN",
                      service);
    po.auth = with_token();
    control_plane cp(po);
    auto node_env = env_with(no_tokens, "LLORCH_SERVICE_TOKEN", service);
    node_process n1("ev1", tiny_pool("p", 1), cp.base(), node_env);
    ASSERT_EQ(cp.wait_cluster({"ev1"}), "");
    event_stream s(cp.url("/v2/events"), with_token());
    auto snap = s.wait_for("snapshot");
    ASSERT_TRUE(snap) << cp.log_text();
    EXPECT_EQ(str_of(*snap, "profile"), "cloud");
    auto* node = find_in(*snap, "nodes", "node_id", "ev1");
    ASSERT_NE(node, nullptr) << json::serialize(*snap);
    EXPECT_EQ(str_of(*node, "state"), "online");
    EXPECT_GT(int_of(*node, "last_heartbeat_ms"), 0);
    auto* pool = find_in(*snap, "pools", "id", "ev1/p");
    ASSERT_NE(pool, nullptr) << json::serialize(*snap);
    EXPECT_EQ(str_of(*pool, "node_id"), "ev1");

    auto id = cp.submit_id(tiny_task(8));
    ASSERT_FALSE(id.empty());
    auto started = s.wait_for("task_started",
                              [&](const json::object& o) { return str_of(o, "task_id") == id; });
    ASSERT_TRUE(started);
    EXPECT_EQ(str_of(*started, "pool"), "ev1/p");
    EXPECT_EQ(str_of(*started, "node_id"), "ev1");
    EXPECT_TRUE(s.wait_for("task_ended",
                           [&](const json::object& o) { return str_of(o, "task_id") == id; }));

    ASSERT_EQ(cp.call("POST", "/v2/nodes/ev1/drain").status / 100, 2);
    EXPECT_TRUE(s.wait_for("node", [](const json::object& o) {
        return str_of(o, "node_id") == "ev1" && str_of(o, "state") == "draining";
    })) << "the node's drain never showed in the stream";
}

}  // namespace
}  // namespace llorch::test
