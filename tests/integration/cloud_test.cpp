// The CLOUD profile as processes on loopback: orchestratord as a control plane with no local pools,
// and two or three pool-managerd nodes that register with it over HTTP, each running a real
// llama-server on a tiny model. The tests assert through the public HTTP/SSE API only; signals
// to the processes are what they simulate (a crashed machine, a stalled one, a restart).
//
// Every test starts its own cluster (orchestratord and nodes start in well under a second), so a
// test that breaks a node on purpose cannot disturb another. Processes are stopped by their
// owners' destructors, in reverse order, also when an assertion fails.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

constexpr double heartbeat_secs = 0.5;
constexpr long long heartbeat_ms = 500;

header_pairs bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// The tests' models: tiny llama models like the default one, with a 32k training context so that
// a greedy ignore_eos stream lasts long enough (tens of seconds) to be "in flight" while a test
// kills or stops its node; the default model's 4k context ends such a stream within ~3 s.
// "alpha" and "beta" differ (seed), so model-aware routing has two models to tell apart.
struct test_models {
    fs::path alpha, beta;
};

const test_models& models() {
    static const test_models m = [] {
        auto dir = temp_dir("cloud-models");
        test_models out{dir / "alpha.gguf", dir / "beta.gguf"};
        for (auto [path, seed] : {std::pair{out.alpha, 11}, std::pair{out.beta, 22}}) {
            auto cmd = (bin_dir() / "llorch").string() + " model make-tiny --ctx 32768 --seed " +
                       std::to_string(seed) + " --out " + path.string() + " > /dev/null 2>&1";
            if (std::system(cmd.c_str()) != 0 || !fs::exists(path))
                throw std::runtime_error("could not generate a test model with: " + cmd);
        }
        return out;
    }();
    return m;
}

// One pool of `slots` slots, 16k tokens of context each.
std::string pool_toml(const std::string& id, const fs::path& model, int slots) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" + model.string() +
           "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = " + std::to_string(16384 * slots) + "\nmax_tokens_cap = 16000\nthreads = 1\n\n";
}

// A greedy request for `max_tokens` tokens (ignore_eos: exactly that many). `extra` is more JSON
// members, each starting with a comma.
std::string task_body(const std::string& model, int max_tokens, const std::string& extra = {}) {
    return R"({"model":")" + model + R"(","prompt":"Once upon a time","max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"seed":7,"ignore_eos":true)" + extra +
           "}";
}
std::string short_task(const std::string& model = "alpha", const std::string& extra = {}) {
    return task_body(model, 4, extra);
}
std::string long_task(const std::string& model = "alpha", const std::string& extra = {}) {
    return task_body(model, 16000, extra);
}
std::string pinned(const std::string& pool) {
    return R"(,"placement":{"mode":"pin","pin_pool_id":")" + pool + R"("})";
}

const http::sse_event* find_event(const sse_result& r, const std::string& name) {
    for (const auto& e : r.events)
        if (e.event == name) return &e;
    return nullptr;
}

// The node named by the stream's `started` event; empty when there is none.
std::string node_of(const sse_result& r) {
    auto* e = find_event(r, "started");
    return e ? str_of(object_of(e->data), "node_id") : std::string();
}
std::string pool_of(const sse_result& r) {
    auto* e = find_event(r, "started");
    if (!e) return {};
    auto o = object_of(e->data);
    return str_of(o, "node_id") + "/" + str_of(o, "pool_id");
}

long long count_events(const sse_result& r, const std::string& name) {
    return std::count_if(r.events.begin(), r.events.end(),
                         [&](const auto& e) { return e.event == name; });
}

// One `started`, tokens, and `end` as the last event.
::testing::AssertionResult completed(const sse_result& r) {
    if (r.status != 200)
        return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw << r.error;
    if (r.events.empty()) return ::testing::AssertionFailure() << "no events; " << r.error;
    if (r.events.back().event != "end")
        return ::testing::AssertionFailure()
               << "last event is '" << r.events.back().event << "': " << r.events.back().data;
    if (count_events(r, "started") != 1)
        return ::testing::AssertionFailure() << count_events(r, "started") << " started events";
    if (count_events(r, "token") == 0) return ::testing::AssertionFailure() << "no token event";
    return ::testing::AssertionSuccess();
}

// A stream that ended with a retriable `error` event whose code is one of `codes`.
::testing::AssertionResult ended_with_error(const sse_result& r,
                                            const std::set<std::string>& codes) {
    if (r.status != 200)
        return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw << r.error;
    if (r.events.empty()) return ::testing::AssertionFailure() << "no events; " << r.error;
    const auto& last = r.events.back();
    if (last.event != "error")
        return ::testing::AssertionFailure()
               << "last event is '" << last.event << "': " << last.data << "; " << r.error;
    auto o = object_of(last.data);
    if (!codes.contains(str_of(o, "code")))
        return ::testing::AssertionFailure() << "unexpected error code: " << last.data;
    auto* retriable = o.if_contains("retriable");
    if (!retriable || !retriable->is_bool() || !retriable->get_bool())
        return ::testing::AssertionFailure() << "error is not retriable: " << last.data;
    if (count_events(r, "end") != 0) return ::testing::AssertionFailure() << "an end event too";
    return ::testing::AssertionSuccess();
}

// orchestratord with the CLOUD profile, on a port of its own that a restart keeps.
struct plane_options {
    long long node_timeout_ms = 2000;
    std::string strategy = "round-robin";
    header_pairs env = no_tokens;
    header_pairs auth;  // sent with every call the test makes to it
};

class control_plane {
  public:
    explicit control_plane(plane_options o = {})
        : opts_(std::move(o)), dir_(temp_dir("cloud-orch")) {
        start();
    }
    ~control_plane() { proc_.stop(std::chrono::milliseconds(3000)); }

    void start() {
        auto env = opts_.env;
        env.emplace_back("ORCHESTRATORD_CLOUD_PROFILE", "true");
        started_ = steady::now();
        proc_ = start_process(
            {(bin_dir() / "orchestratord").string(), "--addr", "127.0.0.1:" + std::to_string(port_),
             "--node-timeout-ms", std::to_string(opts_.node_timeout_ms),
             "--stale-check-interval-secs", "1", "--placement-strategy", opts_.strategy,
             "--drain-deadline-ms", "1000"},
            dir_ / "orchestratord.log", env);
        // The first start takes any free port; a restart binds the same one again.
        if (port_ == 0) port_ = listening_port(proc_, dir_ / "orchestratord.log", "orchestratord");
    }
    // A crash: SIGKILL, reaped before returning.
    void kill9() {
        ::kill(proc_.pid(), SIGKILL);
        while (proc_.running()) std::this_thread::sleep_for(5ms);
    }

    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& path) const { return base() + path; }
    bool wait_healthy(std::chrono::milliseconds d = 30s) const {
        return wait_http_ok(url("/health"), d);
    }

    http::client_response call(const std::string& method, const std::string& path,
                               const std::string& body = {}) const {
        return http_call(method, url(path), body, opts_.auth, 10s);
    }
    json::array list(const std::string& path, const char* key) const {
        auto r = call("GET", path);
        if (r.status != 200) return {};
        auto o = object_of(r.body);
        auto* a = o.if_contains(key);
        return a && a->is_array() ? a->as_array() : json::array{};
    }
    json::array nodes() const { return list("/v2/nodes", "nodes"); }
    json::array pools() const { return list("/v2/pools", "pools"); }
    json::object node(const std::string& id) const {
        for (const auto& n : nodes())
            if (str_of(n.as_object(), "node_id") == id) return n.as_object();
        return {};
    }
    // "online", "offline", ...; "absent" when the node is not listed.
    std::string node_state(const std::string& id) const {
        auto n = node(id);
        return n.empty() ? "absent" : str_of(n, "state");
    }
    bool wait_node_state(const std::string& id, const std::string& want,
                         std::chrono::milliseconds d) const {
        return wait_until([&] { return node_state(id) == want; }, d);
    }
    // Every named node online with a ready pool; an empty string, or what went wrong.
    std::string wait_cluster(const std::vector<std::string>& ids,
                             std::chrono::milliseconds d = 60s) const {
        if (!wait_healthy()) return "orchestratord has no /health: " + log_text();
        bool ok = wait_until(
            [&] {
                auto p = pools();
                for (const auto& id : ids) {
                    if (node_state(id) != "online") return false;
                    bool ready = std::any_of(p.begin(), p.end(), [&](const json::value& v) {
                        const auto& o = v.as_object();
                        auto* r = o.if_contains("ready");
                        return str_of(o, "node_id") == id && r && r->is_bool() && r->get_bool();
                    });
                    if (!ready) return false;
                }
                return true;
            },
            d);
        return ok ? std::string()
                  : "cluster not ready: " + json::serialize(nodes()) + "\n" +
                        json::serialize(pools()) + "\n" + log_text();
    }

    http::client_response submit(const std::string& body) const {
        return call("POST", "/v2/tasks", body);
    }
    // Submits and returns the task id; an empty string (and a test failure) when refused.
    std::string submit_id(const std::string& body) const {
        auto r = submit(body);
        if (r.status != 202 && r.status != 200) {
            ADD_FAILURE() << "submit answered " << r.status << ": " << r.body;
            return {};
        }
        return str_of(object_of(r.body), "task_id");
    }
    json::object task(const std::string& id) const {
        auto r = call("GET", "/v2/tasks/" + id);
        return r.status == 200 ? object_of(r.body) : json::object{};
    }
    // Running and past its first token.
    bool wait_generating(const std::string& id, std::chrono::milliseconds d = 30s) const {
        return wait_until(
            [&] {
                auto t = task(id);
                return str_of(t, "state") == "running" && int_of(t, "tokens") > 0;
            },
            d);
    }
    sse_result events(const std::string& id) const {
        return sse_call("GET", url("/v2/tasks/" + id + "/events"), {}, opts_.auth, {}, 120s);
    }
    // Submits and follows the task to its end.
    sse_result run_task(const std::string& body) const {
        auto id = submit_id(body);
        if (id.empty()) return {};
        return events(id);
    }
    void cancel(const std::string& id) const { call("POST", "/v2/tasks/" + id + "/cancel"); }

    std::string log_text() const { return read_file(dir_ / "orchestratord.log"); }
    steady::time_point started() const { return started_; }

  private:
    plane_options opts_;
    fs::path dir_;
    uint16_t port_ = 0;
    steady::time_point started_;
    common::subprocess proc_;
};

// One pool-managerd joined to a control plane, heartbeating every 0.5 s.
class node_process {
  public:
    node_process(std::string id, const std::string& toml, const std::string& orchestratord_url,
                 header_pairs env = no_tokens)
        : id_(std::move(id)), dir_(temp_dir("cloud-" + id_)) {
        std::ofstream(dir_ / "pools.toml") << toml;
        env.emplace_back("POOL_MANAGERD_CLOUD_PROFILE", "true");
        env.emplace_back("POOL_MANAGERD_NODE_ID", id_);
        env.emplace_back("ORCHESTRATORD_URL", orchestratord_url);
        env.emplace_back("POOL_MANAGERD_HEARTBEAT_INTERVAL_SECS", "0.5");
        proc_ =
            start_process({(bin_dir() / "pool-managerd").string(), "--config",
                           (dir_ / "pools.toml").string(), "--addr", "127.0.0.1:0", "--runtime-dir",
                           (dir_ / "run").string(), "--drain-deadline-ms", "1000"},
                          dir_ / "pool-managerd.log", env);
        // Without POOL_MANAGERD_ADDRESS the node registers the address it bound.
        port_ = listening_port(proc_, dir_ / "pool-managerd.log", "pool-managerd");
    }
    ~node_process() {
        if (proc_.pid() > 0) ::kill(proc_.pid(), SIGCONT);  // a stopped node cannot handle SIGTERM
        proc_.stop(std::chrono::milliseconds(5000));
    }

    const std::string& id() const { return id_; }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& path) const { return base() + path; }
    void signal(int sig) { ::kill(proc_.pid(), sig); }
    bool wait_exited(std::chrono::milliseconds d) {
        return wait_until([&] { return !proc_.running(); }, d);
    }
    // The engine processes of every pool, as the node reports them.
    std::vector<long> engine_pids(const header_pairs& auth = {}) const {
        std::vector<long> out;
        auto r = http_call("GET", url("/v2/pools"), {}, auth, 5s);
        if (r.status != 200) return out;
        auto body = object_of(r.body);
        auto* pools = body.if_contains("pools");
        if (!pools || !pools->is_array()) return out;
        for (const auto& p : pools->as_array()) {
            auto* pids = p.as_object().if_contains("pids");
            if (pids && pids->is_array())
                for (const auto& x : pids->as_array()) out.push_back(x.to_number<long>());
        }
        return out;
    }
    std::string log_text() const { return read_file(dir_ / "pool-managerd.log"); }

  private:
    std::string id_;
    fs::path dir_;
    uint16_t port_ = 0;
    common::subprocess proc_;
};

// Follows one task's event stream on a thread of its own. Cancels the task and joins on
// destruction, so a failed assertion never leaves a stream (or a busy slot) behind.
class stream_reader {
  public:
    stream_reader(const control_plane& cp, std::string id)
        : cp_(cp), id_(std::move(id)), t_([this] {
              auto r = cp_.events(id_);
              std::lock_guard lock(mu_);
              result_ = std::move(r);
              done_ = true;
          }) {}
    ~stream_reader() {
        if (!done()) cp_.cancel(id_);
        t_.join();
    }
    const std::string& id() const { return id_; }
    bool done() const {
        std::lock_guard lock(mu_);
        return done_;
    }
    bool wait_done(std::chrono::milliseconds d) const {
        return wait_until([&] { return done(); }, d);
    }
    sse_result result() const {
        std::lock_guard lock(mu_);
        return result_;
    }

  private:
    const control_plane& cp_;
    std::string id_;
    mutable std::mutex mu_;
    sse_result result_;
    bool done_ = false;
    std::thread t_;
};

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
    EXPECT_EQ(cp.node_state("future-node"), "absent");

    // The same registration with a version of the same series is taken.
    auto same_series = own.substr(0, own.rfind('.')) + ".99";
    r = cp.call("POST", "/v2/nodes/register", registration("near-node", same_series));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(cp.node_state("near-node"), "absent");
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
