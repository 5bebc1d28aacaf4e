#pragma once
// The CLOUD profile as processes on loopback: orchestratord as a control plane with no local pools,
// and two or three pool-managerd nodes that register with it over HTTP, each running a real
// llama-server on a tiny model. The tests assert through the public HTTP/SSE API only; signals
// to the processes are what they simulate (a crashed machine, a stalled one, a restart).
//
// Every test starts its own cluster (orchestratord and nodes start in well under a second), so a
// test that breaks a node on purpose cannot disturb another. Processes are stopped by their
// owners' destructors, in reverse order, also when an assertion fails.

#include <gtest/gtest.h>
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
#include "support/test_support.h"

namespace llorch::test {
namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

inline constexpr double heartbeat_secs = 0.5;
inline constexpr long long heartbeat_ms = 500;

inline header_pairs bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

// The tests' models: tiny llama models like the default one, with a 32k training context so that
// a greedy ignore_eos stream lasts long enough (tens of seconds) to be "in flight" while a test
// kills or stops its node; the default model's 4k context ends such a stream within ~3 s.
// "alpha" and "beta" differ (seed), so model-aware routing has two models to tell apart.
struct test_models {
    fs::path alpha, beta;
};

inline const test_models& models() {
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
inline std::string pool_toml(const std::string& id, const fs::path& model, int slots) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" + model.string() +
           "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = " + std::to_string(16384 * slots) + "\nmax_tokens_cap = 16000\nthreads = 1\n\n";
}

// A greedy request for `max_tokens` tokens (ignore_eos: exactly that many). `extra` is more JSON
// members, each starting with a comma.
inline std::string task_body(const std::string& model, int max_tokens,
                             const std::string& extra = {}) {
    return R"({"model":")" + model + R"(","prompt":"Once upon a time","max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"seed":7,"ignore_eos":true)" + extra +
           "}";
}
inline std::string short_task(const std::string& model = "alpha", const std::string& extra = {}) {
    return task_body(model, 4, extra);
}
inline std::string long_task(const std::string& model = "alpha", const std::string& extra = {}) {
    return task_body(model, 16000, extra);
}
inline std::string pinned(const std::string& pool) {
    return R"(,"placement":{"mode":"pin","pin_pool_id":")" + pool + R"("})";
}

inline const http::sse_event* find_event(const sse_result& r, const std::string& name) {
    for (const auto& e : r.events)
        if (e.event == name) return &e;
    return nullptr;
}

// The node named by the stream's `started` event; empty when there is none.
inline std::string node_of(const sse_result& r) {
    auto* e = find_event(r, "started");
    return e ? str_of(object_of(e->data), "node_id") : std::string();
}
inline std::string pool_of(const sse_result& r) {
    auto* e = find_event(r, "started");
    if (!e) return {};
    auto o = object_of(e->data);
    return str_of(o, "node_id") + "/" + str_of(o, "pool_id");
}

inline long long count_events(const sse_result& r, const std::string& name) {
    return std::count_if(r.events.begin(), r.events.end(),
                         [&](const auto& e) { return e.event == name; });
}

// One `started`, tokens, and `end` as the last event.
inline ::testing::AssertionResult completed(const sse_result& r) {
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
inline ::testing::AssertionResult ended_with_error(const sse_result& r,
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

// Where a daemon runs: a command prefix (e.g. `ip netns exec NS`, see netns_fixture.h) and the
// address it listens on. The default is this host's loopback.
struct host_place {
    std::vector<std::string> wrap;
    std::string host = "127.0.0.1";
};

inline std::vector<std::string> wrapped(const host_place& where, std::vector<std::string> argv) {
    argv.insert(argv.begin(), where.wrap.begin(), where.wrap.end());
    return argv;
}

// orchestratord with the CLOUD profile, on a port of its own that a restart keeps.
struct plane_options {
    long long node_timeout_ms = 2000;
    std::string strategy = "round-robin";
    header_pairs env = no_tokens;
    header_pairs auth;  // sent with every call the test makes to it
    host_place where;
    std::vector<std::string> args;  // more orchestratord options
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
        std::vector<std::string> argv = {(bin_dir() / "orchestratord").string(),
                                         "--addr",
                                         opts_.where.host + ":" + std::to_string(port_),
                                         "--node-timeout-ms",
                                         std::to_string(opts_.node_timeout_ms),
                                         "--stale-check-interval-secs",
                                         "1",
                                         "--placement-strategy",
                                         opts_.strategy,
                                         "--drain-deadline-ms",
                                         "1000"};
        argv.insert(argv.end(), opts_.args.begin(), opts_.args.end());
        proc_ =
            start_process(wrapped(opts_.where, std::move(argv)), dir_ / "orchestratord.log", env);
        // The first start takes any free port; a restart binds the same one again.
        if (port_ == 0) port_ = listening_port(proc_, dir_ / "orchestratord.log", "orchestratord");
    }
    // A crash: SIGKILL, reaped before returning.
    void kill9() {
        ::kill(proc_.pid(), SIGKILL);
        while (proc_.running()) std::this_thread::sleep_for(5ms);
    }

    std::string base() const { return "http://" + opts_.where.host + ":" + std::to_string(port_); }
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
    long pid() const { return proc_.pid(); }

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
                 header_pairs env = no_tokens, host_place where = {},
                 std::vector<std::string> args = {})
        : id_(std::move(id)),
          dir_(temp_dir("cloud-" + id_)),
          where_(std::move(where)),
          args_(std::move(args)) {
        std::ofstream(dir_ / "pools.toml") << toml;
        env.emplace_back("POOL_MANAGERD_CLOUD_PROFILE", "true");
        env.emplace_back("POOL_MANAGERD_NODE_ID", id_);
        env.emplace_back("ORCHESTRATORD_URL", orchestratord_url);
        env.emplace_back("POOL_MANAGERD_HEARTBEAT_INTERVAL_SECS", "0.5");
        env_ = env;
        start();
    }
    // Starts it again after a crash (kill9): same directory, any free port.
    void start() {
        // The log of an earlier run is kept aside, so that the port read is this run's.
        const auto log = dir_ / "pool-managerd.log";
        if (fs::exists(log))
            fs::rename(log, dir_ / ("pool-managerd." + std::to_string(++runs_) + ".log"));
        std::vector<std::string> argv{(bin_dir() / "pool-managerd").string(),
                                      "--config",
                                      (dir_ / "pools.toml").string(),
                                      "--addr",
                                      where_.host + ":0",
                                      "--runtime-dir",
                                      (dir_ / "run").string(),
                                      "--drain-deadline-ms",
                                      "1000"};
        argv.insert(argv.end(), args_.begin(), args_.end());
        proc_ = start_process(wrapped(where_, std::move(argv)), dir_ / "pool-managerd.log", env_);
        // Without POOL_MANAGERD_ADDRESS the node registers the address it bound.
        port_ = listening_port(proc_, dir_ / "pool-managerd.log", "pool-managerd");
    }
    ~node_process() {
        if (proc_.pid() > 0) ::kill(proc_.pid(), SIGCONT);  // a stopped node cannot handle SIGTERM
        proc_.stop(std::chrono::milliseconds(5000));
    }

    // A crash: SIGKILL, reaped before returning (its engines stop on their own: they watch it).
    void kill9() {
        ::kill(proc_.pid(), SIGKILL);
        while (proc_.running()) std::this_thread::sleep_for(5ms);
    }
    const std::string& id() const { return id_; }
    std::string base() const { return "http://" + where_.host + ":" + std::to_string(port_); }
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
    host_place where_;
    std::vector<std::string> args_;  // more pool-managerd options
    header_pairs env_;
    int runs_ = 0;
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

}  // namespace llorch::test
