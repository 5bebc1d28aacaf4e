// The CLOUD profile as processes on loopback: orchestratord as a control plane with no local pools,
// and two or three pool-managerd nodes that register with it over HTTP, each running a real
// llama-server on a tiny model. The tests assert through the public HTTP/SSE API only; signals
// to the processes are what they simulate (a crashed machine, a stalled one, a restart).
//
// Every test starts its own cluster (orchestratord and nodes start in well under a second), so a
// test that breaks a node on purpose cannot disturb another. Processes are stopped by their
// owners' destructors, in reverse order, also when an assertion fails.
#include <gtest/gtest.h>

#include "cloud_fixture.h"

namespace llorch::test {
namespace {

// ---------------------------------------------------------------------------------------------

TEST(cloud, nodes_register_heartbeat_and_deregister_on_sigterm) {
    control_plane cp;
    node_process a("node-a",
                   pool_toml("p1", models().alpha, 1) + pool_toml("p2", models().alpha, 1),
                   cp.base());
    node_process b("node-b", pool_toml("p1", models().alpha, 1), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // Registered with their address, version, interval and pools.
    auto na = cp.node("node-a");
    EXPECT_EQ(str_of(na, "address"), a.base());
    EXPECT_EQ(int_of(na, "heartbeat_interval_ms"), heartbeat_ms);
    EXPECT_FALSE(str_of(na, "version").empty());
    EXPECT_EQ(json::serialize(na["pools"]), R"(["p1","p2"])");
    EXPECT_EQ(json::serialize(cp.node("node-b")["pools"]), R"(["p1"])");
    ASSERT_TRUE(wait_until([&] { return cp.pools().size() == 3; }, 30s));
    std::set<std::string> ids;
    for (const auto& p : cp.pools()) ids.insert(str_of(p.as_object(), "id"));
    EXPECT_EQ(ids, (std::set<std::string>{"node-a/p1", "node-a/p2", "node-b/p1"}));

    // Heartbeats keep both online well past the node timeout (2 s).
    auto watch = steady::now();
    long long worst_ago = 0;
    while (ms_since(watch) < 3000) {
        for (const char* id : {"node-a", "node-b"}) {
            auto n = cp.node(id);
            ASSERT_EQ(str_of(n, "state"), "online") << id << " at " << ms_since(watch) << " ms";
            worst_ago = std::max(worst_ago, int_of(n, "last_heartbeat_ms_ago"));
        }
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_LT(worst_ago, 3 * heartbeat_ms) << "heartbeats arrive less often than every 0.5 s";

    // SIGTERM: node-b drains, deregisters (gone from the listings, not merely offline), and its
    // engine stops with it.
    auto engines = b.engine_pids();
    ASSERT_EQ(engines.size(), 1u);
    ASSERT_TRUE(process_alive(engines[0]));
    b.signal(SIGTERM);
    EXPECT_TRUE(cp.wait_node_state("node-b", "absent", 15s))
        << "node-b is " << cp.node_state("node-b") << "\n"
        << b.log_text();
    for (const auto& p : cp.pools()) EXPECT_NE(str_of(p.as_object(), "node_id"), "node-b");
    EXPECT_TRUE(b.wait_exited(15s));
    EXPECT_TRUE(wait_until([&] { return !process_alive(engines[0]); }, 10s))
        << "engine " << engines[0] << " outlived its node";

    // The other node is untouched and serves.
    EXPECT_EQ(cp.node_state("node-a"), "online");
    auto r = cp.run_task(short_task());
    EXPECT_TRUE(completed(r));
    EXPECT_EQ(node_of(r), "node-a");
}

TEST(cloud, round_robin_spreads_tasks_evenly_over_nodes) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    node_process c("node-c", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b", "node-c"}), "");

    std::map<std::string, int> counts;
    std::vector<std::string> order;
    for (int i = 0; i < 9; ++i) {
        auto r = cp.run_task(short_task());
        ASSERT_TRUE(completed(r)) << "task " << i;
        ++counts[node_of(r)];
        order.push_back(node_of(r));
    }
    EXPECT_EQ(counts, (std::map<std::string, int>{{"node-a", 3}, {"node-b", 3}, {"node-c", 3}}));
    // Strictly in turn: no node twice before every other had one.
    for (size_t i = 3; i < order.size(); ++i) EXPECT_EQ(order[i], order[i - 3]) << "task " << i;
}

TEST(cloud, least_loaded_places_on_the_freest_node) {
    control_plane cp({.strategy = "least-loaded"});
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // One long task makes its node the busier one; every short task then goes to the other.
    auto long_id = cp.submit_id(long_task());
    stream_reader busy(cp, long_id);
    ASSERT_TRUE(cp.wait_generating(long_id));
    auto busy_node = str_of(cp.task(long_id), "node_id");
    ASSERT_TRUE(busy_node == "node-a" || busy_node == "node-b") << busy_node;
    auto free_node = busy_node == "node-a" ? "node-b" : "node-a";
    for (int i = 0; i < 4; ++i) {
        auto r = cp.run_task(short_task());
        ASSERT_TRUE(completed(r)) << "task " << i;
        EXPECT_EQ(node_of(r), free_node) << "task " << i;
    }
    EXPECT_EQ(str_of(cp.task(long_id), "state"), "running") << "the busy node stopped being busy";
}

TEST(cloud, model_aware_routing_places_each_task_on_a_node_with_its_model) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().beta, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // Runs of the same model: round-robin alone would alternate the nodes.
    for (const char* model : {"alpha", "alpha", "alpha", "beta", "beta", "beta", "alpha", "beta"}) {
        auto r = cp.run_task(short_task(model));
        ASSERT_TRUE(completed(r)) << model;
        EXPECT_EQ(node_of(r), std::string(model) == "alpha" ? "node-a" : "node-b") << model;
    }
    // A model that no node serves fails at once.
    auto r = cp.submit(short_task("gamma"));
    EXPECT_NE(r.status, 202) << r.body;
    EXPECT_EQ(str_of(object_of(r.body), "code"), "MODEL_NOT_AVAILABLE") << r.body;
}

TEST(cloud, a_tool_call_travels_from_the_node_as_tool_call_events) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 1), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a"}), "");
    // The tiny model opens a call when the template offers tools, under greedy decoding.
    auto r = cp.run_task(
        R"({"model":"alpha","max_tokens":200,"temperature":0,)"
        R"("messages":[{"role":"user","content":"Weather in Oslo?"}],"engine_params":{)"
        R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":)"
        R"({"type":"object","properties":{"city":{"type":"string","enum":["Oslo"]}},)"
        R"("required":["city"]}}}],"tool_choice":"required","parallel_tool_calls":false}})");
    ASSERT_EQ(r.status, 200) << r.raw << r.error;
    ASSERT_GE(count_events(r, "tool_call"), 1) << r.raw;
    auto first = object_of(find_event(r, "tool_call")->data);
    EXPECT_EQ(str_of(first, "name"), "get_weather") << r.raw;
    EXPECT_FALSE(str_of(first, "id").empty()) << r.raw;
    std::string args;
    for (const auto& e : r.events)
        if (e.event == "tool_call") args += str_of(object_of(e.data), "arguments");
    EXPECT_EQ(str_of(object_of(args), "city"), "Oslo") << args;
    ASSERT_NE(find_event(r, "end"), nullptr) << r.raw;
    EXPECT_EQ(str_of(object_of(find_event(r, "end")->data), "finish_reason"), "tool_calls");
}

TEST(cloud, embeddings_run_on_the_node_whose_pool_answers_them) {
    control_plane cp;
    node_process a("node-a", pool_toml("gen", models().alpha, 1), cp.base());
    node_process b("node-b", pool_toml("emb", models().alpha, 1) + "embeddings = true\n",
                   cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    // The task API's own form: one embedding event per text, from node-b's pool.
    auto r = cp.run_task(R"({"model":"alpha","embed":["hello","zebra"]})");
    ASSERT_EQ(r.status, 200) << r.raw << r.error;
    EXPECT_EQ(node_of(r), "node-b") << r.raw;
    ASSERT_EQ(count_events(r, "embedding"), 2) << r.raw;
    auto first = object_of(find_event(r, "embedding")->data);
    EXPECT_EQ(int_of(first, "index"), 0);
    EXPECT_GT(first.at("embedding").as_array().size(), 8u) << r.raw;
    ASSERT_NE(find_event(r, "end"), nullptr) << r.raw;
    // And OpenAI's endpoint over the same path.
    auto o = cp.call("POST", "/v1/embeddings", R"({"model":"alpha","input":["a","b","c"]})");
    ASSERT_EQ(o.status, 200) << o.body;
    auto data = object_of(o.body).at("data").as_array();
    ASSERT_EQ(data.size(), 3u);
    EXPECT_EQ(data[2].at("index").as_int64(), 2);
    EXPECT_EQ(data[2].at("embedding").as_array().size(), first.at("embedding").as_array().size());
    // Embeddings never go to node-a's pool; generation goes to both (round-robin).
    std::set<std::string> gen_nodes;
    for (int i = 0; i < 4; ++i) {
        auto e = cp.run_task(R"({"model":"alpha","embed":"x"})");
        EXPECT_EQ(node_of(e), "node-b") << e.raw;
        auto g = cp.run_task(short_task("alpha"));
        EXPECT_TRUE(completed(g)) << g.raw;
        gen_nodes.insert(node_of(g));
    }
    EXPECT_EQ(gen_nodes.size(), 2u);
}

TEST(cloud, session_affinity_keeps_a_session_on_its_pool) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // Runs of the same session: round-robin alone would alternate the nodes.
    std::map<std::string, std::set<std::string>> pools_of;
    std::set<std::string> all;
    for (const char* s : {"s1", "s1", "s1", "s2", "s2", "s2", "s1", "s2", "s1"}) {
        auto r = cp.run_task(short_task("alpha", std::string(R"(,"session_id":")") + s + "\""));
        ASSERT_TRUE(completed(r)) << s;
        pools_of[s].insert(pool_of(r));
        all.insert(pool_of(r));
    }
    EXPECT_EQ(pools_of["s1"].size(), 1u) << "session s1 moved between pools";
    EXPECT_EQ(pools_of["s2"].size(), 1u) << "session s2 moved between pools";
    // Tasks without a session still take turns.
    std::set<std::string> anon;
    for (int i = 0; i < 2; ++i) {
        auto r = cp.run_task(short_task());
        ASSERT_TRUE(completed(r));
        anon.insert(node_of(r));
    }
    EXPECT_EQ(anon.size(), 2u);
}

TEST(cloud, killed_node_ends_its_streams_and_is_out_of_placement_at_once) {
    // A node timeout of 10 s: only the broken connections can take the node out within 1 s.
    control_plane cp({.node_timeout_ms = 10000});
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // Four long streams fill both nodes; two more tasks wait in the queue.
    std::vector<std::unique_ptr<stream_reader>> longs;
    for (int i = 0; i < 4; ++i) {
        longs.push_back(std::make_unique<stream_reader>(cp, cp.submit_id(long_task())));
        ASSERT_TRUE(cp.wait_generating(longs.back()->id())) << "long task " << i;
    }
    std::map<std::string, std::vector<stream_reader*>> on;
    for (auto& r : longs) on[str_of(cp.task(r->id()), "node_id")].push_back(r.get());
    ASSERT_EQ(on["node-a"].size(), 2u);
    ASSERT_EQ(on["node-b"].size(), 2u);
    std::vector<std::string> queued{cp.submit_id(short_task()), cp.submit_id(short_task())};
    for (const auto& id : queued) ASSERT_EQ(str_of(cp.task(id), "state"), "queued");

    auto killed = steady::now();
    a.signal(SIGKILL);
    std::vector<std::string> fresh{cp.submit_id(short_task())};
    ASSERT_TRUE(cp.wait_node_state("node-a", "offline", 15s)) << cp.node_state("node-a");
    auto out_ms = ms_since(killed);
    fresh.push_back(cp.submit_id(short_task()));

    // node-a's streams end with a retriable error, never a hang.
    for (auto* r : on["node-a"]) {
        ASSERT_TRUE(r->wait_done(10s)) << "a stream of the killed node hangs";
        EXPECT_TRUE(ended_with_error(r->result(), {"UPSTREAM_FAILED", "WORKER_RESET"}));
        EXPECT_GT(count_events(r->result(), "token"), 0);
    }
    auto errors_ms = ms_since(killed);
    std::cout << "[ figures  ] kill -9 -> node-a offline (out of placement): " << out_ms
              << " ms; its streams ended by " << errors_ms << " ms" << std::endl;
    EXPECT_LE(out_ms, 2000) << "target: within 1 s of the kill";

    // node-b's streams are untouched; ending them frees its slots for the waiting tasks.
    for (auto* r : on["node-b"]) EXPECT_FALSE(r->done());
    for (auto* r : on["node-b"]) cp.cancel(r->id());
    for (const auto& id : queued) {
        auto r = cp.events(id);
        EXPECT_TRUE(completed(r)) << "queued task";
        EXPECT_EQ(node_of(r), "node-b");
    }
    for (const auto& id : fresh) {
        auto r = cp.events(id);
        EXPECT_TRUE(completed(r)) << "task submitted after the kill";
        EXPECT_EQ(node_of(r), "node-b");
    }
    EXPECT_EQ(cp.node_state("node-a"), "offline");
}

TEST(cloud, killed_idle_node_is_out_of_placement_at_the_first_failed_call) {
    // A node timeout of 10 s: only the refused connection can take the node out this early.
    control_plane cp({.node_timeout_ms = 10000});
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // Nothing runs on node-a, so nothing notices its death until a task is sent there:
    // round-robin sends one of the next two, which must still run (on node-b) without an error.
    auto killed = steady::now();
    a.signal(SIGKILL);
    ASSERT_TRUE(a.wait_exited(5s));
    long long first_ms = -1;
    for (int i = 0; i < 4; ++i) {
        auto r = cp.run_task(short_task());
        EXPECT_TRUE(completed(r)) << "task " << i << " after the kill";
        EXPECT_EQ(node_of(r), "node-b") << "task " << i;
        if (i == 0) first_ms = ms_since(killed);
    }
    auto state = cp.node_state("node-a");
    std::cout << "[ figures  ] kill -9 of an idle node -> first task done on node-b: " << first_ms
              << " ms; node-a " << state << " at " << ms_since(killed) << " ms" << std::endl;
    EXPECT_EQ(state, "offline") << "a refused connection must take the node out at once";
}

TEST(cloud, tasks_sent_to_a_stalled_node_before_it_is_declared_offline_run_elsewhere) {
    control_plane cp({.node_timeout_ms = 2000});
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // Until the timeout passes, node-a still looks online, so round-robin sends it some of
    // these; none has reached the client's stream yet, so each must be retried on node-b.
    a.signal(SIGSTOP);
    std::vector<std::unique_ptr<stream_reader>> tasks;
    for (int i = 0; i < 4; ++i)
        tasks.push_back(std::make_unique<stream_reader>(cp, cp.submit_id(short_task())));
    for (size_t i = 0; i < tasks.size(); ++i) {
        ASSERT_TRUE(tasks[i]->wait_done(30s)) << "task " << i << " hangs";
        auto r = tasks[i]->result();
        EXPECT_TRUE(completed(r)) << "task " << i;
        EXPECT_EQ(node_of(r), "node-b") << "task " << i;
    }
    EXPECT_EQ(cp.node_state("node-a"), "offline");
}

TEST(cloud, stopped_node_goes_offline_after_the_timeout_and_returns_after_sigcont) {
    control_plane cp({.node_timeout_ms = 2000});
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    // A long stream on node-a (pinned there: placement overrides name pools cluster-wide).
    auto long_id = cp.submit_id(long_task("alpha", pinned("node-a/p")));
    stream_reader stream(cp, long_id);
    ASSERT_TRUE(cp.wait_generating(long_id));
    ASSERT_EQ(str_of(cp.task(long_id), "node_id"), "node-a");

    auto stopped = steady::now();
    a.signal(SIGSTOP);
    ASSERT_TRUE(cp.wait_node_state("node-a", "offline", 15s)) << cp.node_state("node-a");
    auto offline_ms = ms_since(stopped);
    // Its stream ends with a retriable error instead of hanging on the silent node.
    ASSERT_TRUE(stream.wait_done(10s)) << "the stopped node's stream hangs";
    auto stream_ms = ms_since(stopped);
    EXPECT_TRUE(ended_with_error(stream.result(), {"UPSTREAM_FAILED", "WORKER_RESET"}));
    std::cout << "[ figures  ] SIGSTOP -> node-a offline: " << offline_ms
              << " ms (timeout 2000 ms, last heartbeat up to 500 ms before the stop, stale check "
                 "every 1 s); its stream ended by "
              << stream_ms << " ms" << std::endl;
    // Not before the timeout (counted from the last heartbeat, at most one interval before the
    // stop), and not much after it.
    EXPECT_GE(offline_ms, 2000 - heartbeat_ms - 300);
    EXPECT_LE(offline_ms, 2000 + 1000 + 2000);

    // Meanwhile every task runs on node-b.
    for (int i = 0; i < 3; ++i) {
        auto r = cp.run_task(short_task());
        EXPECT_TRUE(completed(r)) << "task " << i << " while node-a is stopped";
        EXPECT_EQ(node_of(r), "node-b");
    }

    auto resumed = steady::now();
    a.signal(SIGCONT);
    ASSERT_TRUE(cp.wait_node_state("node-a", "online", 10s)) << cp.node_state("node-a");
    std::cout << "[ figures  ] SIGCONT -> node-a online: " << ms_since(resumed) << " ms"
              << std::endl;
    auto r = cp.run_task(short_task("alpha", pinned("node-a/p")));
    EXPECT_TRUE(completed(r)) << "node-a serves again";
    EXPECT_EQ(node_of(r), "node-a");
}

TEST(cloud, nodes_register_again_after_orchestratord_restarts_and_serving_resumes) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    ASSERT_TRUE(completed(cp.run_task(short_task())));

    cp.kill9();
    cp.start();  // same port
    ASSERT_TRUE(cp.wait_healthy(30s)) << cp.log_text();
    auto healthy = steady::now();
    ASSERT_TRUE(wait_until(
        [&] { return cp.node_state("node-a") == "online" && cp.node_state("node-b") == "online"; },
        15s))
        << json::serialize(cp.nodes());
    auto back_ms = ms_since(healthy);
    std::cout << "[ figures  ] orchestratord restart -> both nodes registered again: " << back_ms
              << " ms after it answered (heartbeat interval " << heartbeat_ms << " ms); "
              << ms_since(cp.started()) << " ms after it was started" << std::endl;
    EXPECT_LE(back_ms, heartbeat_ms + 1000) << "nodes take longer than one heartbeat interval";

    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}, 10s), "");
    std::set<std::string> used;
    for (int i = 0; i < 4; ++i) {
        auto r = cp.run_task(short_task());
        ASSERT_TRUE(completed(r)) << "task " << i << " after the restart";
        used.insert(node_of(r));
    }
    EXPECT_EQ(used, (std::set<std::string>{"node-a", "node-b"}));
}

}  // namespace
}  // namespace llorch::test
