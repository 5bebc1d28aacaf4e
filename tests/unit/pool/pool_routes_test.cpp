// The pool routes over a fake pool_admin: what reaches the admin, and what every daemon answers.
#include "pool/pool_routes.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace llorch::pool {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

class fake_admin final : public pool_admin {
  public:
    std::vector<pool_view> pools;
    std::vector<std::string> calls;  // "drain p 5000", "reload p /m.gguf"

    std::vector<pool_view> list() const override { return pools; }
    asio::awaitable<api::api_result<pool_view>> status(std::string pool) override {
        co_return find(pool);
    }
    asio::awaitable<api::api_result<pool_view>> drain(std::string pool,
                                                      milliseconds deadline) override {
        calls.push_back("drain " + pool + " " + std::to_string(deadline.count()));
        co_return find(pool);
    }
    asio::awaitable<api::api_result<pool_view>> reload(std::string pool, std::string ref) override {
        calls.push_back("reload " + pool + " " + ref);
        co_return find(pool);
    }
    bool files_here() const override { return false; }

  private:
    api::api_result<pool_view> find(const std::string& id) const {
        for (const auto& v : pools)
            if (v.name() == id) return v;
        return api::make_error(api::error_code::not_found, "no pool '" + id + "'");
    }
};

pool_view view(std::string id, pool_state state) {
    pool_view v;
    v.pool.id = std::move(id);
    v.pool.name = "tiny";
    v.pool.state = state;
    v.pool.slots_total = 2;
    v.pool.slots_free = 2;
    v.models = {"tiny"};
    return v;
}

class pool_routes_test : public ::testing::Test {
  protected:
    pool_routes_test() : admin_(std::make_shared<fake_admin>()) {
        admin_->pools = {view("p", pool_state::ready), view("q", pool_state::starting)};
        add_pool_routes(routes_, admin_);
    }

    http::response call(std::string method, std::string path, std::string body = {}) {
        auto m = routes_.match(method, path);
        if (!m.h) return http::response::json(m.path_known ? 405 : 404, "{}");
        http::request q;
        q.method = std::move(method);
        q.path = std::move(path);
        q.body = std::move(body);
        q.params = m.params;
        q.correlation_id = "c-1";
        asio::io_context io;
        http::response out;
        asio::co_spawn(io, (*m.h)(std::move(q)), [&](std::exception_ptr e, http::response r) {
            if (e) std::rethrow_exception(e);
            out = std::move(r);
        });
        io.run();
        return out;
    }
    static std::string code(const http::response& r) {
        auto v = json::parse(r.body);
        auto* c = v.as_object().if_contains("code");
        return c && c->is_string() ? std::string(c->get_string()) : std::string();
    }

    http::router routes_;
    std::shared_ptr<fake_admin> admin_;
};

TEST_F(pool_routes_test, drain_takes_an_integer_deadline_within_a_day) {
    EXPECT_EQ(call("POST", "/v2/pools/p/drain", R"({"deadline_ms":5000})").status, 202);
    EXPECT_EQ(call("POST", "/v2/pools/p/drain", "").status, 202);
    EXPECT_EQ(call("POST", "/v2/pools/p/drain", R"({"deadline_ms":0})").status, 202);
    EXPECT_EQ(admin_->calls,
              (std::vector<std::string>{"drain p 5000", "drain p 30000", "drain p 0"}));
}

TEST_F(pool_routes_test, drain_refuses_a_bad_deadline_before_the_admin_sees_it) {
    for (std::string body : {R"({"deadline_ms":-1})", R"({"deadline_ms":"abc"})",
                             R"({"deadline_ms":9223372036854775807})",
                             R"({"deadline_ms":86400001})", R"({"deadline_ms":2.5})", "[]", "{"}) {
        auto r = call("POST", "/v2/pools/p/drain", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(code(r), "INVALID_PARAMS") << body;
    }
    EXPECT_TRUE(admin_->calls.empty());
}

TEST_F(pool_routes_test, reload_needs_a_model_ref) {
    for (std::string body : {"", "{}", R"({"new_model_ref":""})", R"({"new_model_ref":5})"}) {
        auto r = call("POST", "/v2/pools/p/reload", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(code(r), "INVALID_PARAMS") << body;
    }
    EXPECT_TRUE(admin_->calls.empty());
    EXPECT_EQ(call("POST", "/v2/pools/p/reload", R"({"new_model_ref":"/m.gguf"})").status, 200);
    EXPECT_EQ(admin_->calls, (std::vector<std::string>{"reload p /m.gguf"}));
}

TEST_F(pool_routes_test, health_has_the_original_shape_and_unknown_pools_are_404) {
    auto r = call("GET", "/v2/pools/q/health");
    ASSERT_EQ(r.status, 200);
    auto h = json::parse(r.body).as_object();
    for (const char* k : {"live", "ready", "draining", "metrics", "last_error"})
        EXPECT_TRUE(h.contains(k)) << k;
    EXPECT_TRUE(h.at("live").as_bool());
    EXPECT_FALSE(h.at("ready").as_bool());
    for (const char* path : {"/v2/pools/nope/health", "/v2/pools/nope/status"}) {
        auto missing = call("GET", path);
        EXPECT_EQ(missing.status, 404) << path;
        EXPECT_EQ(code(missing), "NOT_FOUND") << path;
    }
    EXPECT_EQ(call("POST", "/v2/pools/nope/drain").status, 404);
}

TEST_F(pool_routes_test, the_listing_names_pools_by_state_and_cluster_name) {
    admin_->pools[1].placement = pool_view::placement_facts{.node_id = "node-a",
                                                            .node_state = "online",
                                                            .node_available = true,
                                                            .in_flight = 1,
                                                            .slots_free = 1,
                                                            .breaker_open = false};
    auto r = call("GET", "/v2/pools");
    ASSERT_EQ(r.status, 200);
    auto pools = json::parse(r.body).at("pools").as_array();
    ASSERT_EQ(pools.size(), 2u);
    EXPECT_EQ(pools[0].at("id").as_string(), "p");
    EXPECT_EQ(pools[0].at("state").as_string(), "ready");
    EXPECT_EQ(pools[1].at("id").as_string(), "node-a/q");
    EXPECT_EQ(pools[1].at("pool_id").as_string(), "q");
    EXPECT_EQ(pools[1].at("node_id").as_string(), "node-a");
    EXPECT_EQ(pools[1].at("state").as_string(), "starting");
    EXPECT_EQ(pools[1].at("slots_free").as_int64(), 1);
}

TEST_F(pool_routes_test, the_catalog_lists_each_model_with_its_pools) {
    auto r = call("GET", "/v2/catalog/models");
    ASSERT_EQ(r.status, 200);
    auto models = json::parse(r.body).at("models").as_array();
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].at("name").as_string(), "tiny");
    EXPECT_EQ(json::serialize(models[0].at("pools")), R"(["p","q"])");
    auto a = call("GET", "/v2/catalog/availability");
    ASSERT_EQ(a.status, 200);
    auto tiny = json::parse(a.body).at("models").at("tiny").as_array();
    ASSERT_EQ(tiny.size(), 2u);
    EXPECT_TRUE(tiny[0].at("ready").as_bool());
    EXPECT_FALSE(tiny[1].at("ready").as_bool());
}

}  // namespace
}  // namespace llorch::pool
