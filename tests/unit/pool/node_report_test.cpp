#include "pool/node_report.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "pool/pool_snapshot_json.h"

namespace llorch::pool {
namespace {
namespace json = boost::json;

pool_snapshot snapshot(std::string id, std::string name, pool_state state) {
    pool_snapshot s;
    s.id = std::move(id);
    s.name = std::move(name);
    s.aliases = {s.name + "-alias"};
    s.labels = {"big", "fast"};
    s.model = "/models/" + s.name + ".gguf";
    s.engine = "llamacpp";
    s.device = "cpu";
    s.state = state;
    s.slots_total = 4;
    s.slots_free = 2;
    s.ctx = 512;
    s.max_tokens_default = 64;
    s.max_tokens_cap = 256;
    return s;
}

// Over the wire: encoded, serialized, parsed back.
json::object wire(const json::object& o) { return json::parse(json::serialize(o)).as_object(); }

void expect_same_pools(const std::vector<reported_pool>& a, const std::vector<reported_pool>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(json::serialize(to_json(a[i].pool)), json::serialize(to_json(b[i].pool)));
        EXPECT_EQ(a[i].models, b[i].models);
    }
}

TEST(node_report, a_registration_round_trips) {
    node_registration_body b;
    b.node_id = "node-a";
    b.machine_id = "m-1";
    b.address = "http://10.0.0.5:9200";
    b.version = "0.1.0";
    b.heartbeat_interval = std::chrono::milliseconds(2500);
    b.gpus = {{0, "H200", 150ull << 30, "9.0"}};
    b.cpu_cores = 16;
    b.ram_total_bytes = 128ull << 30;
    b.models_available = {"tiny", "pair"};
    b.pools = {report_of(snapshot("p1", "tiny", pool_state::ready)),
               report_of(snapshot("p2", "pair", pool_state::starting))};
    auto back = parse_registration(wire(to_json(b)));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->node_id, b.node_id);
    EXPECT_EQ(back->machine_id, b.machine_id);
    EXPECT_EQ(back->address, b.address);
    EXPECT_EQ(back->version, b.version);
    EXPECT_EQ(back->heartbeat_interval, b.heartbeat_interval);
    ASSERT_EQ(back->gpus.size(), 1u);
    EXPECT_EQ(back->gpus[0].name, "H200");
    EXPECT_EQ(back->gpus[0].vram_total_bytes, 150ull << 30);
    EXPECT_EQ(back->cpu_cores, 16u);
    EXPECT_EQ(back->ram_total_bytes, 128ull << 30);
    EXPECT_EQ(back->models_available, b.models_available);
    expect_same_pools(back->pools, b.pools);
    EXPECT_EQ(json::serialize(to_json(*back)), json::serialize(to_json(b)));
}

TEST(node_report, a_heartbeat_round_trips) {
    node_heartbeat_body b;
    b.timestamp_ms = 1'700'000'000'000;
    b.epoch = 3;
    b.pools = {report_of(snapshot("p1", "tiny", pool_state::draining))};
    auto back = parse_heartbeat(wire(to_json(b)));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->timestamp_ms, b.timestamp_ms);
    EXPECT_EQ(back->epoch, b.epoch);
    expect_same_pools(back->pools, b.pools);
    EXPECT_EQ(back->pools[0].pool.state, pool_state::draining);
}

TEST(node_report, on_demand_figures_and_the_nodes_memory_round_trip) {
    node_heartbeat_body b;
    auto s = snapshot("alpha", "alpha", pool_state::offline);
    s.on_demand = true;
    s.idle_ttl_ms = 300'000;
    s.need_bytes = 270ull << 20;
    s.load_ms = 420;
    b.pools = {report_of(s)};
    b.memory = {{.device = "gpu:0",
                 .free_bytes = 1ull << 33,
                 .total_bytes = 1ull << 34,
                 .evictable_bytes = 1ull << 30},
                {.device = "gpu:1", .free_bytes = 5, .total_bytes = 9}};
    auto back = parse_heartbeat(wire(to_json(b)));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->memory, b.memory);
    EXPECT_TRUE(back->pools[0].pool.on_demand);
    EXPECT_EQ(back->pools[0].pool.need_bytes, 270ull << 20);
    EXPECT_EQ(back->pools[0].pool.load_ms, 420);
    node_registration_body r;
    r.node_id = "n1";
    r.memory = {{.device = "cpu", .free_bytes = 1, .total_bytes = 2}};
    auto reg = parse_registration(wire(to_json(r)));
    ASSERT_TRUE(reg) << reg.error().message;
    EXPECT_EQ(reg->memory, r.memory);
    // An older node says nothing of its memory; a malformed report is refused, naming it.
    EXPECT_TRUE(parse_heartbeat(json::parse(R"({"pools":[]})").as_object())->memory.empty());
    for (std::string_view bad :
         {R"({"memory": {}})", R"({"memory": [7]})", R"({"memory": [{"free_bytes": 1}]})"}) {
        auto hb = parse_heartbeat(json::parse(bad).as_object());
        ASSERT_FALSE(hb) << bad;
        EXPECT_NE(hb.error().message.find("memory"), std::string::npos) << bad;
    }
}

TEST(node_report, a_pool_answers_to_its_names_and_to_those_the_report_lists) {
    auto r = report_of(snapshot("p1", "tiny", pool_state::ready));
    EXPECT_EQ(r.models, (std::vector<std::string>{"tiny", "tiny-alias", "/models/tiny.gguf",
                                                  "file:/models/tiny.gguf"}));
    auto hb = parse_heartbeat(
        json::parse(R"({"pools":[{"pool_id":"g","models":["alpha","a2"],"ready":false}]})")
            .as_object());
    ASSERT_TRUE(hb);
    EXPECT_EQ(hb->pools[0].models, (std::vector<std::string>{"alpha", "a2"}));
    EXPECT_FALSE(hb->epoch);
}

TEST(node_report, refuses_what_it_cannot_use) {
    auto registration = [](std::string_view text) {
        return parse_registration(json::parse(text).as_object());
    };
    for (std::string_view bad :
         {R"({"heartbeat_interval_ms": 5})", R"({"heartbeat_interval_ms": 3600001})",
          R"({"heartbeat_interval_ms": "10s"})", R"({"heartbeat_interval_ms": 1000.5})",
          R"({"node_id": 7})", R"({"pools": {}})", R"({"pools": [{"pool_id": "p"}, {"id": "p"}]})",
          R"({"pools": [{"ready": true}]})", R"({"node_id": "a/b"})", R"({"node_id": "a b"})"}) {
        auto r = registration(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, api::error_code::invalid_params) << bad;
    }
    // Ids a node chooses are echoed everywhere: bounded.
    json::object huge{{"node_id", std::string(100'000, 'n')}};
    EXPECT_FALSE(parse_registration(huge)) << "a 100 KB node id";
    json::object long_machine{{"node_id", "n1"}, {"machine_id", std::string(10'000, 'm')}};
    EXPECT_FALSE(parse_registration(long_machine));
    EXPECT_TRUE(parse_registration(json::object{{"node_id", std::string(128, 'n')}}));
    auto hb = parse_heartbeat(json::parse(R"({"epoch": -1, "pools": []})").as_object());
    ASSERT_FALSE(hb);
    EXPECT_NE(hb.error().message.find("epoch"), std::string::npos);
}

TEST(node_report, an_empty_registration_is_for_the_caller_to_refuse) {
    auto r = parse_registration(json::object{});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->node_id.empty());
    EXPECT_EQ(r->heartbeat_interval, std::chrono::milliseconds(10'000));
    EXPECT_TRUE(r->pools.empty());
}

}  // namespace
}  // namespace llorch::pool
