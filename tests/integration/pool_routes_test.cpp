// The pool routes answer the same on pool-managerd, on orchestratord's HOME profile and on a CLOUD
// orchestratord that the pool-managerd joined as a node: the same requests, the same status
// codes, error codes and shapes. Real daemons, real llama-server engines on the tiny model, only
// the public HTTP API.
#include <fstream>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string pool_toml(const std::string& id) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" +
           tiny_model().string() + "\"\ndevice = \"cpu\"\nslots = 1\nctx = 512\nthreads = 1\n\n";
}

// One daemon: pool-managerd or HOME orchestratord serving pools `p` (kept ready) and `d`
// (drained by a test), or a CLOUD orchestratord (no pools of its own) that the pool-managerd
// joins as a node.
class daemon_process {
  public:
    // `cloud_url`: for pool-managerd, the control plane to join as a node; for orchestratord,
    // "cloud" runs it as a CLOUD control plane without pools.
    daemon_process(std::string binary, std::vector<std::string> extra, std::string cloud_url = {})
        : name_(std::move(binary)), dir_(temp_dir("routes-" + name_)) {
        const std::string program = name_;
        std::vector<std::string> argv{(bin_dir() / program).string(), "--addr", "127.0.0.1:0",
                                      "--runtime-dir", (dir_ / "run").string()};
        auto env = no_tokens;
        if (name_ == "orchestratord" && !cloud_url.empty()) {
            env.emplace_back("ORCHESTRATORD_CLOUD_PROFILE", "true");
            name_ += " (CLOUD)";
        } else {
            std::ofstream(dir_ / "pools.toml") << pool_toml("p") + pool_toml("d");
            argv.insert(argv.end(), {"--config", (dir_ / "pools.toml").string()});
        }
        if (name_ == "pool-managerd" && !cloud_url.empty()) {
            env.emplace_back("POOL_MANAGERD_CLOUD_PROFILE", "true");
            env.emplace_back("ORCHESTRATORD_URL", cloud_url);
            env.emplace_back("POOL_MANAGERD_HEARTBEAT_INTERVAL_SECS", "0.5");
        }
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc_ = start_process(argv, dir_ / "daemon.log", env);
        port_ = listening_port(proc_, dir_ / "daemon.log", program);
    }
    ~daemon_process() { proc_.stop(std::chrono::milliseconds(3000)); }

    const std::string& name() const { return name_; }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    http::client_response call(const std::string& method, const std::string& path,
                               const std::string& body = {}) const {
        return http_call(method, "http://127.0.0.1:" + std::to_string(port_) + path, body, {}, 10s);
    }
    std::string state(const std::string& pool) const {
        auto r = call("GET", "/v2/pools/" + pool + "/status");
        return r.status == 200 ? str_of(object_of(r.body), "state")
                               : "(status " + std::to_string(r.status) + ")";
    }
    // Both pools ready; an empty string, or what went wrong.
    std::string wait_ready() const {
        if (!wait_http_ok("http://127.0.0.1:" + std::to_string(port_) + "/health", 30s))
            return name_ + " has no /health: " + log_text();
        if (!wait_until([&] { return state("p") == "ready" && state("d") == "ready"; }, 120s))
            return name_ + ": pools not ready: " + log_text();
        return {};
    }
    std::string log_text() const { return read_file(dir_ / "daemon.log"); }

  private:
    std::string name_;
    fs::path dir_;
    uint16_t port_ = 0;
    common::subprocess proc_;
};

class pool_routes : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        try {
            engine_or_skip();
            // The CLOUD control plane first: the pool-managerd below joins it as a node, so
            // its pools answer on all three.
            auto cloud = std::make_unique<daemon_process>(
                "orchestratord", std::vector<std::string>{"--stale-check-interval-secs", "1"},
                "cloud");
            daemons_.push_back(std::make_unique<daemon_process>(
                "pool-managerd", std::vector<std::string>{"--node-id", "routes-node"},
                cloud->base()));
            daemons_.push_back(
                std::make_unique<daemon_process>("orchestratord", std::vector<std::string>{}));
            daemons_.push_back(std::move(cloud));
            for (const auto& d : daemons_)
                if (auto why = d->wait_ready(); !why.empty() && setup_error_.empty())
                    setup_error_ = why;
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { daemons_.clear(); }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

    // `method path body` on every daemon: each answers `status` with error `code` ("" for none).
    static void expect_everywhere(const std::string& method, const std::string& path,
                                  const std::string& body, int status, const std::string& code) {
        for (const auto& d : daemons_) {
            SCOPED_TRACE(d->name() + ": " + method + " " + path + " " + body);
            auto r = d->call(method, path, body);
            EXPECT_EQ(r.status, status) << r.body;
            if (!code.empty()) {
                EXPECT_EQ(str_of(object_of(r.body), "code"), code) << r.body;
                EXPECT_FALSE(str_of(object_of(r.body), "message").empty()) << r.body;
            }
        }
    }

    // pool-managerd (a node of the CLOUD control plane), HOME orchestratord, CLOUD orchestratord.
    static const daemon_process& cloud_daemon() { return *daemons_.back(); }
    static inline std::vector<std::unique_ptr<daemon_process>> daemons_;
    static inline std::string setup_error_;
};

TEST_F(pool_routes, drain_with_a_bad_deadline_is_invalid_params_everywhere) {
    for (const char* body :
         {R"({"deadline_ms":-1})", R"({"deadline_ms":"abc"})",
          R"({"deadline_ms":9223372036854775807})", R"({"deadline_ms":18446744073709551615})",
          R"({"deadline_ms":1.5})", R"({"deadline_ms":86400001})", R"(["deadline_ms"])",
          R"({"deadline_ms":)"})
        expect_everywhere("POST", "/v2/pools/p/drain", body, 400, "INVALID_PARAMS");
    for (const auto& d : daemons_) EXPECT_EQ(d->state("p"), "ready") << d->name();
}

TEST_F(pool_routes, reload_without_a_model_ref_is_invalid_params_everywhere) {
    for (const char* body : {"", "{}", R"({"new_model_ref":""})", R"({"new_model_ref":7})"})
        expect_everywhere("POST", "/v2/pools/p/reload", body, 400, "INVALID_PARAMS");
    for (const auto& d : daemons_) EXPECT_EQ(d->state("p"), "ready") << d->name();
}

TEST_F(pool_routes, an_unknown_pool_is_not_found_everywhere) {
    for (const auto& [method, path, body] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"GET", "/v2/pools/nope/status", ""},
             {"GET", "/v2/pools/nope/health", ""},
             {"POST", "/v2/pools/nope/drain", R"({"deadline_ms":0})"},
             {"POST", "/v2/pools/nope/reload", R"({"new_model_ref":"/nowhere.gguf"})"}})
        expect_everywhere(method, path, body, 404, "NOT_FOUND");
}

TEST_F(pool_routes, health_has_the_same_shape_everywhere) {
    for (const auto& d : daemons_) {
        SCOPED_TRACE(d->name());
        auto r = d->call("GET", "/v2/pools/p/health");
        ASSERT_EQ(r.status, 200) << r.body;
        auto h = object_of(r.body);
        std::set<std::string> keys;
        for (const auto& kv : h) keys.insert(std::string(kv.key()));
        EXPECT_EQ(keys,
                  (std::set<std::string>{"live", "ready", "draining", "metrics", "last_error"}));
        EXPECT_TRUE(h.at("live").as_bool());
        EXPECT_TRUE(h.at("ready").as_bool());
        EXPECT_FALSE(h.at("draining").as_bool());
        EXPECT_EQ(int_of(h.at("metrics").as_object(), "slots_total"), 1);
    }
}

TEST_F(pool_routes, status_and_listing_use_the_pool_state_names_everywhere) {
    const std::set<std::string> names{"uninitialized", "provisioning", "starting", "ready",
                                      "draining",      "offline",      "failed"};
    std::vector<std::set<std::string>> key_sets;
    for (const auto& d : daemons_) {
        SCOPED_TRACE(d->name());
        auto r = d->call("GET", "/v2/pools");
        ASSERT_EQ(r.status, 200) << r.body;
        auto pools = object_of(r.body).at("pools").as_array();
        ASSERT_EQ(pools.size(), 2u);
        for (const auto& p : pools)
            EXPECT_TRUE(names.count(str_of(p.as_object(), "state"))) << json::serialize(p);
        auto s = d->call("GET", "/v2/pools/p/status");
        ASSERT_EQ(s.status, 200) << s.body;
        auto o = object_of(s.body);
        EXPECT_EQ(str_of(o, "state"), "ready");
        EXPECT_EQ(str_of(o, "pool_id"), "p");
        std::set<std::string> keys;
        for (const auto& kv : o) keys.insert(std::string(kv.key()));
        key_sets.push_back(keys);
    }
    ASSERT_EQ(key_sets.size(), 3u);
    EXPECT_EQ(key_sets[0], key_sets[1]) << "pool-managerd and HOME show different fields";
    for (const auto& k : key_sets[0]) EXPECT_TRUE(key_sets[2].count(k)) << "CLOUD lacks " << k;
    auto cloud = object_of(cloud_daemon().call("GET", "/v2/pools/p/status").body);
    EXPECT_EQ(str_of(cloud, "id"), "routes-node/p");
    EXPECT_EQ(str_of(cloud, "node_id"), "routes-node");
}

TEST_F(pool_routes, the_catalog_is_the_same_on_one_machine) {
    std::vector<std::string> catalogs;
    for (const auto& d : daemons_) {
        auto r = d->call("GET", "/v2/catalog/models");
        ASSERT_EQ(r.status, 200) << d->name() << ": " << r.body;
        catalogs.push_back(r.body);
        auto a = d->call("GET", "/v2/catalog/availability");
        EXPECT_EQ(a.status, 200) << d->name() << ": " << a.body;
    }
    EXPECT_EQ(catalogs[0], catalogs[1]);
    auto cloud = object_of(catalogs[2]).at("models").as_array();
    ASSERT_EQ(cloud.size(), 1u) << catalogs[2];
    EXPECT_EQ(json::serialize(cloud[0].at("pools")), R"(["routes-node/d","routes-node/p"])");
}

TEST_F(pool_routes, a_drain_within_range_is_accepted_and_shown_everywhere) {
    // Drained on the node and on HOME; CLOUD then shows the node's pool by its state name.
    for (size_t k = 0; k < 2; ++k) {
        const auto& d = daemons_[k];
        SCOPED_TRACE(d->name());
        auto r = d->call("POST", "/v2/pools/d/drain", R"({"deadline_ms":0})");
        EXPECT_EQ(r.status, 202) << r.body;
    }
    for (const auto& d : daemons_) {
        SCOPED_TRACE(d->name());
        EXPECT_TRUE(wait_until(
            [&] {
                auto s = d->state("d");
                return s == "draining" || s == "offline";
            },
            30s))
            << d->state("d");
        EXPECT_EQ(d->state("p"), "ready") << "draining d touched p";
    }
}

}  // namespace
}  // namespace llorch::test
