// Models on demand across nodes (docs/models.md, "CLOUD"): pool-managerd nodes with a models
// folder and no [[pools]] report their catalog models as on-demand pools, with each one's memory
// estimate and their devices' memory; orchestratord asks the node to load a model that no node
// has loaded, choosing where it fits, and the task waits for it with a `loading` event. Real
// daemons, the real llama-server on tiny models; engine processes counted through each node.

#include <signal.h>

#include <gtest/gtest.h>

#include "cloud_fixture.h"

namespace llorch::test {
namespace {

// A models folder holding the given test models under the given names.
fs::path models_folder(const std::string& name,
                       const std::vector<std::pair<std::string, fs::path>>& files) {
    auto dir = temp_dir("cloud-models-" + name);
    for (const auto& [stem, from] : files) fs::copy_file(from, dir / (stem + ".gguf"));
    return dir;
}

// A node serving its models folder on demand, context 512, with `args` more.
std::unique_ptr<node_process> on_demand_node(const std::string& id, const control_plane& cp,
                                             const fs::path& models,
                                             std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--models-dir", models.string(), "--default-ctx", "512"});
    return std::make_unique<node_process>(id, "", cp.base(), no_tokens, host_place{},
                                          std::move(args));
}

json::object cluster_pool(const control_plane& cp, const std::string& name) {
    for (const auto& p : cp.pools())
        if (str_of(p.as_object(), "id") == name) return p.as_object();
    return {};
}

// Every named pool listed with its memory estimate (the node made it ahead of any load).
bool wait_estimated(const control_plane& cp, const std::vector<std::string>& names) {
    return wait_until(
        [&] {
            for (const auto& n : names) {
                auto p = cluster_pool(cp, n);
                if (p.empty() || int_of(p, "need_bytes") <= 0) return false;
            }
            return true;
        },
        30s);
}

TEST(cloud_on_demand, a_model_staged_on_one_node_loads_there_on_its_first_task) {
    engine_or_skip();
    control_plane cp;
    auto a = on_demand_node("node-a", cp, models_folder("a", {{"alpha", models().alpha}}));
    auto b = on_demand_node("node-b", cp, models_folder("b", {{"beta", models().beta}}));
    ASSERT_TRUE(cp.wait_healthy());
    ASSERT_TRUE(wait_estimated(cp, {"node-a/alpha", "node-b/beta"}))
        << json::serialize(cp.pools()) << cp.log_text();
    EXPECT_TRUE(a->engine_pids().empty());
    EXPECT_TRUE(b->engine_pids().empty());

    // The first task for beta: node-b loads it, the task says so, then runs there.
    auto r = cp.run_task(task_body("beta", 6));
    ASSERT_FALSE(r.events.empty()) << r.error << cp.log_text();
    EXPECT_EQ(r.events.front().event, "loading");
    EXPECT_EQ(str_of(object_of(r.events.front().data), "pool_id"), "node-b/beta");
    EXPECT_EQ(r.events.back().event, "end") << r.events.back().data << cp.log_text();
    EXPECT_EQ(node_of(r), "node-b");
    EXPECT_EQ(b->engine_pids().size(), 1u);
    EXPECT_TRUE(a->engine_pids().empty());
    // The node measured the load.
    ASSERT_TRUE(
        wait_until([&] { return int_of(cluster_pool(cp, "node-b/beta"), "load_ms") > 0; }, 10s))
        << json::serialize(cluster_pool(cp, "node-b/beta"));

    // Loaded now: no second load.
    auto again = cp.run_task(task_body("beta", 4));
    ASSERT_FALSE(again.events.empty()) << again.error;
    EXPECT_EQ(again.events.front().event, "started");
    EXPECT_EQ(b->engine_pids().size(), 1u);

    // Unloaded through the control plane: the node's engine goes; the next task loads it again.
    auto un = cp.call("POST", "/v2/models/beta/unload");
    EXPECT_EQ(un.status, 202) << un.body;
    ASSERT_TRUE(wait_until([&] { return b->engine_pids().empty(); }, 20s)) << b->log_text();
    ASSERT_TRUE(wait_until(
        [&] { return str_of(cluster_pool(cp, "node-b/beta"), "state") == "offline"; }, 10s))
        << json::serialize(cluster_pool(cp, "node-b/beta"));
    auto third = cp.run_task(task_body("beta", 4));
    ASSERT_FALSE(third.events.empty()) << third.error;
    EXPECT_EQ(third.events.front().event, "loading");
    EXPECT_EQ(third.events.back().event, "end") << third.events.back().data;

    // An explicit load through the control plane reaches node-a.
    auto load = cp.call("POST", "/v2/models/alpha/load");
    EXPECT_TRUE(load.status == 202 || load.status == 200) << load.body;
    ASSERT_TRUE(wait_until([&] { return a->engine_pids().size() == 1; }, 30s)) << a->log_text();
}

TEST(cloud_on_demand, a_load_goes_where_the_model_fits_and_one_that_fits_nowhere_fails_naming_it) {
    engine_or_skip();
    control_plane cp;
    // node-a's memory budget is smaller than one instance of the tiny model; node-b has room.
    auto a = on_demand_node(
        "node-a", cp, models_folder("small", {{"alpha", models().alpha}, {"gamma", models().beta}}),
        {"--memory-budget-mib", "100"});
    auto b = on_demand_node("node-b", cp, models_folder("roomy", {{"alpha", models().alpha}}));
    ASSERT_TRUE(cp.wait_healthy());
    ASSERT_TRUE(wait_estimated(cp, {"node-a/alpha", "node-a/gamma", "node-b/alpha"}))
        << json::serialize(cp.pools()) << cp.log_text();

    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(cp.submit_id(task_body("alpha", 4)));
    for (const auto& id : ids) {
        auto r = cp.events(id);
        ASSERT_FALSE(r.events.empty()) << r.error;
        EXPECT_EQ(r.events.back().event, "end") << r.events.back().data << cp.log_text();
        EXPECT_EQ(node_of(r), "node-b");
    }
    // One load for all three, on node-b only.
    EXPECT_EQ(b->engine_pids().size(), 1u);
    EXPECT_TRUE(a->engine_pids().empty());

    // gamma is only on node-a, where it can never fit: refused at once, naming its memory.
    auto g = cp.submit(task_body("gamma", 4));
    EXPECT_EQ(g.status, 503) << g.body;
    auto msg = str_of(object_of(g.body), "message");
    EXPECT_NE(msg.find("'gamma'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MiB"), std::string::npos) << msg;
    EXPECT_TRUE(a->engine_pids().empty());
    // And the OpenAI endpoint says the same in its dialect.
    auto chat = http_call("POST", cp.url("/v1/chat/completions"),
                          R"({"model":"gamma","max_tokens":4,"messages":[{"role":"user",)"
                          R"("content":"hi"}]})",
                          {}, 30s);
    EXPECT_EQ(chat.status, 503) << chat.body;
    EXPECT_NE(chat.body.find("MiB"), std::string::npos) << chat.body;
}

TEST(cloud_on_demand,
     an_engine_killed_while_loading_fails_the_load_with_its_reason_and_leaves_none) {
    engine_or_skip();
    control_plane cp;
    auto folder = models_folder("kill-engine", {{"beta", models().beta}});
    auto b = on_demand_node("node-b", cp, folder);
    ASSERT_TRUE(cp.wait_healthy());
    ASSERT_TRUE(wait_estimated(cp, {"node-b/beta"})) << json::serialize(cp.pools());

    // The engine is stopped the moment it appears (before it can answer its health check),
    // then killed: the load fails rather than staying "loading".
    auto id = cp.submit_id(task_body("beta", 4));
    std::vector<long> engine;
    ASSERT_TRUE(
        wait_until([&] { return !(engine = engines_on(folder / "beta.gguf")).empty(); }, 30s));
    ::kill(static_cast<pid_t>(engine.front()), SIGSTOP);
    ::kill(static_cast<pid_t>(engine.front()), SIGKILL);
    auto r = cp.events(id);
    ASSERT_FALSE(r.events.empty()) << r.error;
    const auto& last = r.events.back();
    if (last.event == "error") {
        // The usual outcome: the load failed, and the task says why.
        EXPECT_EQ(str_of(object_of(last.data), "code"), "POOL_UNAVAILABLE") << last.data;
        EXPECT_NE(str_of(object_of(last.data), "message").find("'beta'"), std::string::npos)
            << last.data;
    } else {
        // The engine was already past its load: the node restarted it and the task ran.
        EXPECT_EQ(last.event, "end") << last.data;
    }
    // Nothing left loading or running once the pool settled.
    ASSERT_TRUE(wait_until(
        [&] {
            auto st = str_of(cluster_pool(cp, "node-b/beta"), "state");
            return st == "failed" || st == "ready" || st == "offline";
        },
        30s))
        << json::serialize(cluster_pool(cp, "node-b/beta")) << b->log_text();
    EXPECT_FALSE(process_alive(engine.front()));
    // The next task loads it again.
    auto next = cp.run_task(task_body("beta", 4));
    ASSERT_FALSE(next.events.empty()) << next.error;
    EXPECT_EQ(next.events.back().event, "end") << next.events.back().data << cp.log_text();
    EXPECT_EQ(engines_on(folder / "beta.gguf").size(), 1u);
}

TEST(cloud_on_demand,
     a_node_killed_with_a_model_loaded_leaves_no_engine_and_loads_it_after_restart) {
    engine_or_skip();
    control_plane cp;
    auto folder = models_folder("kill-node", {{"beta", models().beta}});
    auto b = on_demand_node("node-b", cp, folder);
    ASSERT_TRUE(cp.wait_healthy());
    ASSERT_TRUE(wait_estimated(cp, {"node-b/beta"})) << json::serialize(cp.pools());
    auto first = cp.run_task(task_body("beta", 4));
    ASSERT_FALSE(first.events.empty()) << first.error;
    ASSERT_EQ(first.events.back().event, "end") << first.events.back().data;
    auto engines = engines_on(folder / "beta.gguf");
    ASSERT_EQ(engines.size(), 1u);

    // A crash of the node: its engine goes with it, the control plane marks it offline.
    b->kill9();
    EXPECT_TRUE(wait_until([&] { return !process_alive(engines.front()); }, 20s))
        << "engine " << engines.front() << " outlived its node";
    ASSERT_TRUE(cp.wait_node_state("node-b", "offline", 20s)) << cp.log_text();

    // A task waits for the node (with its deadline); the node comes back with the model
    // unloaded, and the control plane loads it there again for the waiting task.
    auto id = cp.submit_id(task_body("beta", 4, R"(,"deadline_ms":60000)"));
    b->start();
    auto r = cp.events(id);
    ASSERT_FALSE(r.events.empty()) << r.error;
    EXPECT_EQ(r.events.back().event, "end") << r.events.back().data << cp.log_text();
    EXPECT_EQ(node_of(r), "node-b");
    EXPECT_EQ(engines_on(folder / "beta.gguf").size(), 1u);
    EXPECT_EQ(str_of(cluster_pool(cp, "node-b/beta"), "state"), "ready");
}

TEST(cloud_on_demand, when_the_node_with_the_model_loaded_is_lost_another_node_loads_it) {
    engine_or_skip();
    control_plane cp;
    auto a = on_demand_node("node-a", cp, models_folder("lost-a", {{"beta", models().beta}}));
    ASSERT_TRUE(cp.wait_healthy());
    ASSERT_TRUE(wait_estimated(cp, {"node-a/beta"})) << json::serialize(cp.pools());
    auto first = cp.run_task(task_body("beta", 4));
    ASSERT_FALSE(first.events.empty()) << first.error;
    ASSERT_EQ(node_of(first), "node-a") << first.events.back().data;
    auto b = on_demand_node("node-b", cp, models_folder("lost-b", {{"beta", models().beta}}));
    ASSERT_TRUE(wait_estimated(cp, {"node-b/beta"})) << json::serialize(cp.pools());

    // node-a stops answering (SIGSTOP: no heartbeat, no exit): once it is offline, a task for
    // beta loads it on node-b rather than waiting for node-a.
    a->signal(SIGSTOP);
    ASSERT_TRUE(cp.wait_node_state("node-a", "offline", 20s)) << cp.log_text();
    auto r = cp.run_task(task_body("beta", 4, R"(,"deadline_ms":60000)"));
    a->signal(SIGCONT);
    ASSERT_FALSE(r.events.empty()) << r.error;
    EXPECT_EQ(r.events.front().event, "loading");
    EXPECT_EQ(r.events.back().event, "end") << r.events.back().data << cp.log_text();
    EXPECT_EQ(node_of(r), "node-b");
}

}  // namespace
}  // namespace llorch::test
