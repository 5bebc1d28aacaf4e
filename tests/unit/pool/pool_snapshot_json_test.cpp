#include "pool/pool_snapshot_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace llorch::pool {
namespace {
namespace json = boost::json;

pool_snapshot full_snapshot() {
    pool_snapshot s;
    s.id = "gpu0";
    s.name = "tiny";
    s.aliases = {"tiny-chat", "t"};
    s.model = "/models/tiny.gguf";
    s.engine = "llamacpp";
    s.device = "gpu:0";
    s.state = pool_state::draining;
    s.last_error = "engine exited with status 1";
    s.restarts = 2;
    s.slots_total = 4;
    s.slots_free = 1;
    s.in_flight = 3;
    s.ctx = 2048;
    s.max_tokens_default = 128;
    s.max_tokens_cap = 1024;
    s.replicas = 2;
    s.pids = {4242, 4343};
    s.endpoints = {"http://127.0.0.1:9001", "http://127.0.0.1:9002"};
    s.adopted = true;
    s.reloading = true;
    s.vram_total_bytes = 24ull << 30;
    s.vram_free_bytes = 5'000'000'000ull;
    s.gpus = {gpu::gpu_info{.index = 0,
                            .uuid = "GPU-1",
                            .name = "H200",
                            .memory_total_bytes = 150ull << 30,
                            .memory_free_bytes = 100ull << 30,
                            .compute_capability = "9.0",
                            .driver_version = {},
                            .utilization = 0.75}};
    s.generation = 7;
    s.engine_slots_busy = 3;
    return s;
}

api::api_result<pool_snapshot> decode(std::string_view text) {
    return pool_snapshot_from_json(json::parse(text));
}

TEST(pool_snapshot_json, round_trips_every_field) {
    auto s = full_snapshot();
    auto encoded = to_json(s);
    auto decoded = pool_snapshot_from_json(json::parse(json::serialize(encoded)));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(json::serialize(to_json(*decoded)), json::serialize(encoded));
    EXPECT_EQ(decoded->state, pool_state::draining);
    EXPECT_EQ(decoded->pids, s.pids);
    EXPECT_EQ(decoded->gpus, s.gpus);
    EXPECT_EQ(decoded->vram_free_bytes, s.vram_free_bytes);
}

TEST(pool_snapshot_json, shows_the_pool_state_names) {
    for (auto st :
         {pool_state::uninitialized, pool_state::provisioning, pool_state::starting,
          pool_state::ready, pool_state::draining, pool_state::offline, pool_state::failed}) {
        pool_snapshot s;
        s.id = "p";
        s.state = st;
        auto o = to_json(s);
        EXPECT_EQ(o.at("state").as_string(), to_string(st));
        EXPECT_EQ(o.at("ready").as_bool(), st == pool_state::ready);
        EXPECT_EQ(o.at("draining").as_bool(), st == pool_state::draining);
        auto back = pool_snapshot_from_json(o);
        ASSERT_TRUE(back);
        EXPECT_EQ(back->state, st);
    }
}

TEST(pool_snapshot_json, reads_a_short_report_with_defaults) {
    auto s = decode(R"({"pool_id":"g","models":["alpha"],"ready":true,"slots_total":1,"ctx":64})");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->id, "g");
    EXPECT_EQ(s->name, "alpha");
    EXPECT_EQ(s->state, pool_state::ready);
    EXPECT_EQ(s->slots_total, 1);
    EXPECT_EQ(s->ctx, 64);
    EXPECT_EQ(s->max_tokens_default, pool_config{}.max_tokens_default);
    EXPECT_EQ(s->max_tokens_cap, pool_config{}.max_tokens_cap);
    auto d = decode(R"({"id":"d","draining":true})");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->state, pool_state::draining);
}

TEST(pool_snapshot_json, refuses_a_report_it_cannot_trust) {
    for (std::string_view bad :
         {R"([1])", R"({"ready":true})", R"({"pool_id":"p","state":"up"})",
          R"({"pool_id":"p","slots_total":-1})", R"({"pool_id":"p","slots_total":"4"})",
          R"({"pool_id":"p","slots_total":99999999999})", R"({"pool_id":"p","ready":"yes"})",
          R"({"pool_id":"p","aliases":[1]})", R"({"pool_id":"p","pids":[-5]})",
          R"({"pool_id":"p","gpus":[{"index":"x"}]})",
          R"({"pool_id":"p","gpus":[{"index":0,"utilization":1.5}]})",
          R"({"pool_id":"p","gpus":[{"index":0,"utilization":"busy"}]})"}) {
        auto s = decode(bad);
        ASSERT_FALSE(s) << bad;
        EXPECT_EQ(s.error().code, api::error_code::invalid_params) << bad;
    }
}

TEST(pool_snapshot_json, health_has_the_original_shape) {
    auto s = full_snapshot();
    s.state = pool_state::ready;
    auto h = health_json(s);
    EXPECT_EQ(h.size(), 5u);
    EXPECT_TRUE(h.at("live").as_bool());
    EXPECT_TRUE(h.at("ready").as_bool());
    EXPECT_FALSE(h.at("draining").as_bool());
    EXPECT_EQ(h.at("last_error").as_string(), s.last_error);
    EXPECT_EQ(h.at("metrics").at("slots_total").as_int64(), 4);
    EXPECT_EQ(h.at("metrics").at("slots_free").as_int64(), 1);
    s.state = pool_state::failed;
    s.last_error.clear();
    h = health_json(s);
    EXPECT_FALSE(h.at("live").as_bool());
    EXPECT_TRUE(h.at("last_error").is_null());
}

}  // namespace
}  // namespace llorch::pool
