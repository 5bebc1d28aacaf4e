// CLOUD's pool admin without the network: what the listing shows of each node's reported pools,
// and the errors it answers before it would call a node.
#include "orchestrator/remote_pool_admin.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;

pool::pool_snapshot snapshot(std::string id, pool::pool_state state) {
    pool::pool_snapshot s;
    s.id = std::move(id);
    s.name = "tiny";
    s.model = "/models/tiny.gguf";
    s.engine = "llamacpp";
    s.device = "gpu:0";
    s.state = state;
    s.slots_total = 4;
    s.slots_free = 4;
    return s;
}

struct remote_pool_admin_test : ::testing::Test {
    remote_pool_admin_test() {
        registry::registry_config rc;
        rc.control_plane_version = "0.1.0";
        reg =
            std::make_unique<registry::node_registry>(rc, index, std::chrono::steady_clock::now());
        backend = std::make_unique<cloud_backend>(io, cloud_options{}, *reg, index);
        admin = std::make_unique<remote_pool_admin>(*reg, index, *backend);
    }

    // Registers `node` with its pools, as the node routes do.
    void join(const std::string& node, std::vector<pool::pool_snapshot> pools) {
        registry::node_registration r;
        r.node_id = node;
        r.address = "http://" + node + ":9200";
        r.version = "0.1.0";
        std::vector<pool::reported_pool> reports;
        for (auto& s : pools) {
            auto rp = pool::report_of(std::move(s));
            registry::pool_report p;
            p.pool_id = rp.pool.id;
            p.state.models = rp.models;
            p.state.engine = rp.pool.engine;
            p.state.ready = rp.pool.state == pool::pool_state::ready;
            p.state.slots_total = rp.pool.slots_total;
            p.state.slots_free = rp.pool.slots_free;
            r.pools.push_back(std::move(p));
            reports.push_back(std::move(rp));
        }
        ASSERT_TRUE(reg->register_node(r, std::chrono::steady_clock::now()));
        admin->remember(node, reports);
    }

    template <class T>
    T run(asio::awaitable<T> aw) {
        std::optional<T> out;
        asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
            if (e) std::rethrow_exception(e);
            out = std::move(v);
        });
        io.restart();
        io.run_for(5s);
        return std::move(*out);
    }

    asio::io_context io;
    placement::placement_index index;
    std::unique_ptr<registry::node_registry> reg;
    std::unique_ptr<cloud_backend> backend;
    std::unique_ptr<remote_pool_admin> admin;
};

TEST_F(remote_pool_admin_test, lists_every_node_pool_with_its_state_name_and_node) {
    join("node-a",
         {snapshot("p1", pool::pool_state::ready), snapshot("p2", pool::pool_state::starting)});
    join("node-b", {snapshot("p1", pool::pool_state::failed)});
    std::map<std::string, pool::pool_view> by_name;
    for (auto& v : admin->list()) by_name[v.name()] = v;
    ASSERT_EQ(by_name.size(), 3u);
    EXPECT_EQ(by_name.at("node-a/p1").pool.state, pool::pool_state::ready);
    EXPECT_EQ(by_name.at("node-a/p2").pool.state, pool::pool_state::starting);
    EXPECT_EQ(by_name.at("node-b/p1").pool.state, pool::pool_state::failed);
    const auto& facts = *by_name.at("node-a/p1").placement;
    EXPECT_EQ(facts.node_id, "node-a");
    EXPECT_EQ(facts.node_state, "online");
    EXPECT_EQ(facts.slots_free, 4);
    EXPECT_EQ(by_name.at("node-a/p1").pool.device, "gpu:0") << "the node's own snapshot";
    EXPECT_TRUE(by_name.at("node-a/p1").ready());
    EXPECT_FALSE(by_name.at("node-a/p2").ready());
}

TEST_F(remote_pool_admin_test, a_new_report_replaces_the_last_and_forget_drops_it) {
    join("node-a", {snapshot("p1", pool::pool_state::ready)});
    admin->remember("node-a", {pool::report_of(snapshot("p1", pool::pool_state::draining))});
    auto pools = admin->list();
    ASSERT_EQ(pools.size(), 1u);
    EXPECT_EQ(pools[0].pool.state, pool::pool_state::draining);
    admin->forget("node-a");
    pools = admin->list();
    ASSERT_EQ(pools.size(), 1u) << "the index still has it until the registry drops it";
    EXPECT_EQ(pools[0].pool.state, pool::pool_state::ready) << "from the index's report";
    EXPECT_TRUE(reg->deregister("node-a"));
    EXPECT_TRUE(admin->list().empty());
}

TEST_F(remote_pool_admin_test, an_unknown_pool_is_not_found_without_calling_a_node) {
    join("node-a", {snapshot("p1", pool::pool_state::ready)});
    for (auto r : {run(admin->status("nope")), run(admin->drain("node-b/p1", 0ms)),
                   run(admin->reload("nope", "/m.gguf"))}) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, api::error_code::not_found);
    }
}

}  // namespace
}  // namespace llorch::orchestrator
