// The CLOUD profile as processes, continued: client and service tokens, their rotation,
// refusals at start-up, version checks and late heartbeats, through the public HTTP API.
#include <gtest/gtest.h>

#include "cloud_fixture.h"

namespace llorch::test {
namespace {

// ---- auth ------------------------------------------------------------------------------------

const std::string client_token = "client-token-0123456789abcdef";
const std::string service_token = "service-token-0123456789abcdef";

TEST(cloud, client_and_service_tokens_are_enforced_on_both_daemons) {
    control_plane cp(
        {.env = {{"LLORCH_API_TOKEN", client_token}, {"LLORCH_SERVICE_TOKEN", service_token}},
         .auth = bearer(client_token)});
    node_process a("node-a", pool_toml("p", models().alpha, 1), cp.base(),
                   {{"LLORCH_API_TOKEN", ""}, {"LLORCH_SERVICE_TOKEN", service_token}});
    ASSERT_EQ(cp.wait_cluster({"node-a"}), "") << a.log_text();

    auto code = [](const http::client_response& r) { return str_of(object_of(r.body), "code"); };
    const auto body = short_task();
    // orchestratord's client routes take the client token only.
    auto r = http_call("POST", cp.url("/v2/tasks"), body, {}, 5s);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(code(r), "MISSING_TOKEN") << r.body;
    r = http_call("POST", cp.url("/v2/tasks"), body, bearer("not-a-valid-token-at-all"), 5s);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(code(r), "BAD_TOKEN") << r.body;
    EXPECT_EQ(http_call("POST", cp.url("/v2/tasks"), body, bearer(service_token), 5s).status, 401);
    EXPECT_EQ(http_call("GET", cp.url("/v2/nodes"), {}, {}, 5s).status, 401);
    EXPECT_EQ(http_call("GET", cp.url("/v2/pools"), {}, bearer(service_token), 5s).status, 401);
    EXPECT_EQ(http_call("GET", cp.url("/health"), {}, {}, 5s).status, 200);
    // Its node routes take the service token only (a 400 for an empty body: auth passed).
    EXPECT_EQ(http_call("POST", cp.url("/v2/nodes/register"), "{}", {}, 5s).status, 401);
    EXPECT_EQ(
        http_call("POST", cp.url("/v2/nodes/register"), "{}", bearer(client_token), 5s).status,
        401);
    EXPECT_EQ(http_call("POST", cp.url("/v2/nodes/node-a/heartbeat"), R"({"pools":[]})",
                        bearer(client_token), 5s)
                  .status,
              401);
    EXPECT_EQ(
        http_call("POST", cp.url("/v2/nodes/register"), "{}", bearer(service_token), 5s).status,
        400);
    EXPECT_EQ(http_call("DELETE", cp.url("/v2/nodes/node-a"), {}, {}, 5s).status, 401);
    EXPECT_EQ(cp.node_state("node-a"), "online");

    // pool-managerd takes the service token only.
    const auto infer = a.url("/v2/pools/p/infer");
    r = http_call("GET", a.url("/v2/pools"), {}, {}, 5s);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(code(r), "MISSING_TOKEN") << r.body;
    r = http_call("GET", a.url("/v2/pools"), {}, bearer(client_token), 5s);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(code(r), "BAD_TOKEN") << r.body;
    EXPECT_EQ(http_call("POST", infer, R"({"prompt":"x","max_tokens":1})", {}, 5s).status, 401);
    EXPECT_EQ(http_call("GET", a.url("/v2/pools"), {}, bearer(service_token), 5s).status, 200);
    EXPECT_EQ(http_call("GET", a.url("/health"), {}, {}, 5s).status, 200);

    // With the right tokens on every hop, a task runs end to end.
    auto t = cp.run_task(body);
    EXPECT_TRUE(completed(t));
    EXPECT_EQ(node_of(t), "node-a");
    // Tokens never reach a log.
    for (const auto& log : {cp.log_text(), a.log_text()}) {
        EXPECT_EQ(log.find(client_token), std::string::npos);
        EXPECT_EQ(log.find(service_token), std::string::npos);
    }
}

TEST(cloud, two_valid_tokens_during_rotation) {
    const std::string client_old = "client-old-0123456789abcdef",
                      client_new = "client-new-0123456789abcdef";
    const std::string svc_old = "service-old-0123456789abcdef",
                      svc_new = "service-new-0123456789abcdef";
    control_plane cp({.env = {{"LLORCH_API_TOKEN", client_old + "," + client_new},
                              {"LLORCH_SERVICE_TOKEN", svc_old + "," + svc_new}},
                      .auth = bearer(client_old)});
    // node-a still has the old service token only; node-b already sends the new one and still
    // accepts the old one, which orchestratord sends until its own rotation ends.
    node_process a("node-a", pool_toml("p", models().alpha, 1), cp.base(),
                   {{"LLORCH_API_TOKEN", ""}, {"LLORCH_SERVICE_TOKEN", svc_old}});
    node_process b("node-b", pool_toml("p", models().alpha, 1), cp.base(),
                   {{"LLORCH_API_TOKEN", ""}, {"LLORCH_SERVICE_TOKEN", svc_new + "," + svc_old}});
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "") << a.log_text() << b.log_text();

    std::set<std::string> used;
    for (const auto& token : {client_old, client_new, client_old, client_new}) {
        auto s = http_call("POST", cp.url("/v2/tasks"), short_task(), bearer(token), 10s);
        ASSERT_EQ(s.status, 202) << s.body;
        auto id = str_of(object_of(s.body), "task_id");
        auto r = sse_call("GET", cp.url("/v2/tasks/" + id + "/events"), {}, bearer(token), {}, 60s);
        EXPECT_TRUE(completed(r));
        used.insert(node_of(r));
    }
    EXPECT_EQ(used, (std::set<std::string>{"node-a", "node-b"}));
    EXPECT_EQ(http_call("POST", cp.url("/v2/tasks"), short_task(),
                        bearer("client-retired-0123456789abcdef"), 5s)
                  .status,
              401);
    EXPECT_EQ(http_call("GET", b.url("/v2/pools"), {}, bearer(svc_old), 5s).status, 200);
    EXPECT_EQ(http_call("GET", b.url("/v2/pools"), {}, bearer(svc_new), 5s).status, 200);
    EXPECT_EQ(http_call("GET", a.url("/v2/pools"), {}, bearer(svc_new), 5s).status, 401);
}

TEST(cloud, service_token_falls_back_to_the_api_token) {
    // LLORCH_SERVICE_TOKEN empty (as good as unset) on both daemons: LLORCH_API_TOKEN serves
    // node <-> control plane calls as well.
    const header_pairs env{{"LLORCH_API_TOKEN", client_token}, {"LLORCH_SERVICE_TOKEN", ""}};
    control_plane cp({.env = env, .auth = bearer(client_token)});
    node_process a("node-a", pool_toml("p", models().alpha, 1), cp.base(), env);
    ASSERT_EQ(cp.wait_cluster({"node-a"}, 20s), "") << a.log_text();
    auto r = cp.run_task(short_task());
    EXPECT_TRUE(completed(r));
    EXPECT_EQ(node_of(r), "node-a");
    EXPECT_EQ(http_call("GET", a.url("/v2/pools"), {}, {}, 5s).status, 401);
    EXPECT_EQ(http_call("GET", a.url("/v2/pools"), {}, bearer(client_token), 5s).status, 200);
}

// What a daemon that must refuse to start printed, and whether it exited non-zero in time.
struct refusal {
    bool exited_nonzero = false;
    std::string output;
};

refusal start_and_wait(const std::vector<std::string>& argv, const header_pairs& env,
                       const std::string& name) {
    auto log = temp_dir("cloud-refusal") / (name + ".log");
    auto p = start_process(argv, log, env);
    refusal out;
    if (wait_until([&] { return !p.running(); }, 10s))
        out.exited_nonzero = p.status() && WIFEXITED(*p.status()) && WEXITSTATUS(*p.status()) != 0;
    out.output = read_file(log);
    return out;
}

TEST(cloud, both_daemons_refuse_a_certificate_without_its_key) {
    auto dir = temp_dir("cloud-tls-half");
    std::ofstream(dir / "pools.toml") << pool_toml("p", models().alpha, 1);
    std::ofstream(dir / "cert.pem") << "not read: the key is missing\n";
    auto orch_env = no_tokens;
    orch_env.insert(orch_env.end(), {{"ORCHESTRATORD_CLOUD_PROFILE", "true"},
                                     {"ORCHESTRATORD_TLS_CERT", (dir / "cert.pem").string()}});
    auto r = start_and_wait({(bin_dir() / "orchestratord").string(), "--addr", "127.0.0.1:0"},
                            orch_env, "orchestratord");
    EXPECT_TRUE(r.exited_nonzero) << r.output;
    EXPECT_NE(r.output.find("ORCHESTRATORD_TLS_CERT and ORCHESTRATORD_TLS_KEY go together"),
              std::string::npos)
        << r.output;
    auto node_env = no_tokens;
    node_env.emplace_back("POOL_MANAGERD_TLS_KEY", (dir / "cert.pem").string());
    r = start_and_wait(
        {(bin_dir() / "pool-managerd").string(), "--config", (dir / "pools.toml").string(),
         "--addr", "127.0.0.1:0", "--runtime-dir", (dir / "run").string()},
        node_env, "pool-managerd");
    EXPECT_TRUE(r.exited_nonzero) << r.output;
    EXPECT_NE(r.output.find("POOL_MANAGERD_TLS_CERT and POOL_MANAGERD_TLS_KEY go together"),
              std::string::npos)
        << r.output;
}

TEST(cloud, both_daemons_refuse_a_non_loopback_bind_without_a_token) {
    const std::vector<std::string> orch{(bin_dir() / "orchestratord").string(), "--addr",
                                        "0.0.0.0:0"};
    auto node_dir = temp_dir("cloud-refusal-node");
    std::ofstream(node_dir / "pools.toml") << pool_toml("p", models().alpha, 1);
    const std::vector<std::string> node{(bin_dir() / "pool-managerd").string(),
                                        "--config",
                                        (node_dir / "pools.toml").string(),
                                        "--addr",
                                        "0.0.0.0:0",
                                        "--runtime-dir",
                                        (node_dir / "run").string()};
    auto orch_env = no_tokens;
    orch_env.emplace_back("ORCHESTRATORD_CLOUD_PROFILE", "true");
    auto node_env = no_tokens;
    node_env.insert(node_env.end(), {{"POOL_MANAGERD_CLOUD_PROFILE", "true"},
                                     {"POOL_MANAGERD_NODE_ID", "node-a"},
                                     {"POOL_MANAGERD_ADDRESS", "http://127.0.0.1:9"},
                                     {"ORCHESTRATORD_URL", "http://127.0.0.1:9"}});

    auto r = start_and_wait(orch, orch_env, "orchestratord");
    EXPECT_TRUE(r.exited_nonzero) << r.output;
    EXPECT_NE(r.output.find("NON_LOOPBACK_WITHOUT_TOKEN"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("LLORCH_API_TOKEN"), std::string::npos) << r.output;
    r = start_and_wait(node, node_env, "pool-managerd");
    EXPECT_TRUE(r.exited_nonzero) << r.output;
    EXPECT_NE(r.output.find("NON_LOOPBACK_WITHOUT_TOKEN"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("LLORCH_SERVICE_TOKEN"), std::string::npos) << r.output;

    // With a token, the same binds serve.
    orch_env[0].second = client_token;
    node_env[1].second = service_token;
    auto dir = temp_dir("cloud-bind");
    auto o = start_process(orch, dir / "orchestratord.log", orch_env);
    auto n = start_process(node, dir / "pool-managerd.log", node_env);
    auto orch_port = std::to_string(listening_port(o, dir / "orchestratord.log", "orchestratord"));
    auto node_port = std::to_string(listening_port(n, dir / "pool-managerd.log", "pool-managerd"));
    EXPECT_TRUE(wait_http_ok("http://127.0.0.1:" + orch_port + "/health", 20s))
        << read_file(dir / "orchestratord.log");
    EXPECT_TRUE(wait_http_ok("http://127.0.0.1:" + node_port + "/health", 20s))
        << read_file(dir / "pool-managerd.log");
    n.stop(std::chrono::milliseconds(5000));
    o.stop(std::chrono::milliseconds(3000));
}

TEST(cloud, node_with_a_rejected_service_token_does_not_register_and_says_why) {
    control_plane cp({.env = {{"LLORCH_API_TOKEN", ""}, {"LLORCH_SERVICE_TOKEN", service_token}}});
    const std::string wrong = "wrong-service-token-0123456789";
    node_process a("node-a", pool_toml("p", models().alpha, 1), cp.base(),
                   {{"LLORCH_API_TOKEN", ""}, {"LLORCH_SERVICE_TOKEN", wrong}});
    ASSERT_TRUE(cp.wait_healthy());
    // The node says that orchestratord refused its token, and which setting to check.
    ASSERT_TRUE(wait_until(
        [&] {
            auto log = a.log_text();
            return log.find("401") != std::string::npos &&
                   log.find("LLORCH_SERVICE_TOKEN") != std::string::npos;
        },
        30s))
        << a.log_text();
    EXPECT_EQ(cp.node_state("node-a"), "absent");
    EXPECT_TRUE(cp.pools().empty());
    for (const auto& log : {cp.log_text(), a.log_text()}) {
        EXPECT_EQ(log.find(wrong), std::string::npos) << "a token in a log";
        EXPECT_EQ(log.find(service_token), std::string::npos) << "a token in a log";
    }
}

TEST(cloud, incompatible_node_version_is_refused_with_the_versions_that_fit) {
    control_plane cp;
    ASSERT_TRUE(cp.wait_healthy());
    auto own = str_of(object_of(cp.call("GET", "/v2/meta/version").body), "version");
    ASSERT_FALSE(own.empty());
    auto registration = [](const std::string& id, const std::string& version) {
        return R"({"node_id":")" + id +
               R"(","address":"http://127.0.0.1:9","heartbeat_interval_ms":60000,"version":")" +
               version + R"(","pools":[]})";
    };

    auto r = cp.call("POST", "/v2/nodes/register", registration("future-node", "9.0.0"));
    EXPECT_EQ(r.status, 409) << r.body;
    auto message = str_of(object_of(r.body), "message");
    EXPECT_NE(message.find("9.0.0"), std::string::npos) << message;
    // "compatible versions: 0.1.x" for a 0.1.0 control plane.
    auto series = own.substr(0, own.rfind('.')) + ".x";
    EXPECT_NE(message.find(series), std::string::npos) << "names no version that fits: " << message;
    EXPECT_NE(message.find("upgrade orchestratord first"), std::string::npos)
        << "says not what to do: " << message;
    EXPECT_EQ(cp.node_state("future-node"), "absent");

    // The same registration with a version of the same series is taken.
    auto same_series = own.substr(0, own.rfind('.')) + ".99";
    r = cp.call("POST", "/v2/nodes/register", registration("near-node", same_series));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(cp.node_state("near-node"), "absent");
}

TEST(cloud, a_node_with_more_pools_than_the_cap_is_refused_with_413) {
    plane_options o;
    o.env.emplace_back("ORCHESTRATORD_MAX_POOLS_PER_NODE", "2");
    control_plane cp(o);
    ASSERT_TRUE(cp.wait_healthy());
    auto own = str_of(object_of(cp.call("GET", "/v2/meta/version").body), "version");
    auto pools = [](int n) {
        std::string a = "[";
        for (int i = 0; i < n; ++i)
            a += std::string(i ? "," : "") + R"({"pool_id":"p)" + std::to_string(i) +
                 R"(","models":["alpha"],"ready":true,"slots_total":1})";
        return a + "]";
    };
    auto registration = [&](int n) {
        return R"({"node_id":"wide","address":"http://127.0.0.1:9","version":")" + own +
               R"(","heartbeat_interval_ms":60000,"pools":)" + pools(n) + "}";
    };
    auto r = cp.call("POST", "/v2/nodes/register", registration(3));
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_EQ(str_of(object_of(r.body), "code"), "PAYLOAD_TOO_LARGE") << r.body;
    EXPECT_NE(str_of(object_of(r.body), "message").find("at most 2"), std::string::npos) << r.body;
    EXPECT_EQ(cp.node_state("wide"), "absent");

    ASSERT_EQ(cp.call("POST", "/v2/nodes/register", registration(2)).status, 200);
    r = cp.call("POST", "/v2/nodes/wide/heartbeat", R"({"pools":)" + pools(3) + "}");
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_EQ(cp.pools().size(), 2u) << "a refused heartbeat added a pool";
    EXPECT_EQ(cp.call("GET", "/health").status, 200);
}

TEST(cloud, a_late_heartbeat_of_a_deregistered_node_brings_nothing_back) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 1), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a"}), "");
    auto own = str_of(object_of(cp.call("GET", "/v2/meta/version").body), "version");
    // A node with a tiny context for the same model registers, deregisters, and then a heartbeat
    // it had in flight arrives.
    const std::string ghost_pools =
        R"([{"pool_id":"g","models":["alpha"],"ready":false,"slots_total":1,"ctx":64}])";
    auto r = cp.call("POST", "/v2/nodes/register",
                     R"({"node_id":"ghost","address":"http://127.0.0.1:9","version":")" + own +
                         R"(","heartbeat_interval_ms":60000,"pools":)" + ghost_pools + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(cp.call("DELETE", "/v2/nodes/ghost").status, 204);
    r = cp.call("POST", "/v2/nodes/ghost/heartbeat", R"({"pools":)" + ghost_pools + "}");
    EXPECT_EQ(r.status, 404) << "an unknown node is told to register again: " << r.body;
    EXPECT_EQ(cp.node_state("ghost"), "absent");
    for (const auto& p : cp.pools()) EXPECT_NE(str_of(p.as_object(), "node_id"), "ghost");

    // Nor do its pool's limits come back: a prompt far over 64 tokens, well within node-a's
    // context, runs.
    std::string prompt;
    while (prompt.size() < 2000) prompt += "Once upon a time there was a tiny model. ";
    auto t = cp.run_task(R"({"model":"alpha","prompt":")" + prompt +
                         R"(","max_tokens":4,"temperature":0,"ignore_eos":true})");
    EXPECT_TRUE(completed(t));
    EXPECT_EQ(node_of(t), "node-a");
}

}  // namespace
}  // namespace llorch::test
