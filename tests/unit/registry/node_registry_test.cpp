#include "registry/node_registry.h"

#include <gtest/gtest.h>

namespace llorch::registry {
namespace {

using namespace std::chrono_literals;

const time_point t0{};

placement::pool_state pool(std::vector<std::string> models = {"tiny"}, int slots = 4) {
    placement::pool_state s;
    s.models = std::move(models);
    s.engine = "llamacpp";
    s.ready = true;
    s.slots_total = slots;
    s.slots_free = slots;
    return s;
}

node_registration node(std::string id, std::chrono::milliseconds interval = 10s,
                       std::vector<pool_report> pools = {{"gpu0", pool()}}) {
    node_registration r;
    r.node_id = id;
    r.machine_id = "machine-" + id;
    r.address = "http://" + id + ":9200";
    r.version = "0.1.0";
    r.heartbeat_interval = interval;
    r.pools = std::move(pools);
    return r;
}

registry_config config() {
    registry_config c;
    c.node_timeout = 30s;
    c.stale_check_interval = 5s;
    c.control_plane_version = "0.1.0";
    return c;
}

placement::placement_request for_model(std::string model = "tiny") {
    placement::placement_request r;
    r.model = std::move(model);
    return r;
}

struct registry_fixture : ::testing::Test {
    placement::placement_index index;
    node_registry registry{config(), index, t0};

    // Runs the stale checker on schedule from `from` to `to`, returning every expiry.
    std::vector<std::string> check_until(time_point from, time_point to) {
        std::vector<std::string> all;
        for (auto t = from; t <= to; t += 5s) {
            auto expired = registry.check_stale(t);
            all.insert(all.end(), expired.begin(), expired.end());
        }
        return all;
    }
};

TEST_F(registry_fixture, registration_makes_the_node_online_and_its_pools_placeable) {
    auto epoch = registry.register_node(node("n1"), t0);
    ASSERT_TRUE(epoch);
    const node_record* n = registry.find("n1");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->state, node_state::online);
    EXPECT_EQ(n->epoch, *epoch);
    auto d = index.place(for_model());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "n1");
    EXPECT_EQ(d->pool_id, "gpu0");
    EXPECT_EQ(d->node_address, "http://n1:9200");
}

TEST_F(registry_fixture, a_node_without_pools_stays_registering_until_it_reports_one) {
    ASSERT_TRUE(registry.register_node(node("n1", 10s, {}), t0));
    EXPECT_EQ(registry.find("n1")->state, node_state::registering);
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 1s);
    EXPECT_EQ(registry.find("n1")->state, node_state::online);
    EXPECT_TRUE(index.can_serve_now("tiny"));
}

TEST_F(registry_fixture, registering_again_gives_a_new_epoch_and_keeps_in_flight_counts) {
    const uint64_t first = *registry.register_node(node("n1"), t0);
    auto ref = registry.find("n1")->pools.at(0).ref;
    index.on_dispatch(ref);
    const uint64_t second = *registry.register_node(node("n1"), t0 + 1s);
    EXPECT_GT(second, first);
    EXPECT_FALSE(registry.is_current("n1", first));
    EXPECT_TRUE(registry.is_current("n1", second));
    EXPECT_EQ(registry.find("n1")->pools.at(0).ref, ref);
    EXPECT_EQ(index.find(ref)->in_flight, 1);
    EXPECT_EQ(registry.nodes().size(), 1u);
}

TEST_F(registry_fixture, epochs_increase_across_nodes_and_reregistrations_after_deregister) {
    const uint64_t a = *registry.register_node(node("n1"), t0);
    ASSERT_TRUE(registry.deregister("n1"));
    const uint64_t b = *registry.register_node(node("n1"), t0);
    EXPECT_GT(b, a);  // an event from before the deregistration is still recognisably old
}

TEST_F(registry_fixture, re_registration_drops_pools_it_no_longer_lists) {
    ASSERT_TRUE(
        registry.register_node(node("n1", 10s, {{"gpu0", pool()}, {"gpu1", pool({"big"})}}), t0));
    EXPECT_TRUE(index.serves("big"));
    ASSERT_TRUE(registry.register_node(node("n1"), t0 + 1s));
    EXPECT_FALSE(index.serves("big"));
    EXPECT_EQ(registry.find("n1")->pools.size(), 1u);
}

TEST_F(registry_fixture, heartbeat_from_an_unknown_node_asks_it_to_register) {
    auto r = registry.heartbeat("ghost", {{"gpu0", pool()}}, t0);
    EXPECT_EQ(r.status, heartbeat_status::unknown_node);
    EXPECT_FALSE(index.serves("tiny"));
}

TEST_F(registry_fixture, heartbeat_echoes_the_interval_and_updates_pools) {
    ASSERT_TRUE(registry.register_node(node("n1", 7s), t0));
    auto state = pool();
    state.ready = false;
    auto r = registry.heartbeat("n1", {{"gpu0", state}}, t0 + 7s);
    EXPECT_EQ(r.status, heartbeat_status::accepted);
    EXPECT_EQ(r.next_heartbeat, 7s);
    EXPECT_EQ(registry.find("n1")->last_heartbeat, t0 + 7s);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 14s);
    EXPECT_TRUE(index.can_serve_now("tiny"));
}

TEST_F(registry_fixture, heartbeat_with_an_older_epoch_is_dropped) {
    const uint64_t old_epoch = *registry.register_node(node("n1"), t0);
    const uint64_t epoch = *registry.register_node(node("n1"), t0 + 1s);
    auto state = pool();
    state.ready = false;
    auto r = registry.heartbeat("n1", {{"gpu0", state}}, t0 + 2s, old_epoch);
    EXPECT_EQ(r.status, heartbeat_status::stale_epoch);
    EXPECT_TRUE(index.can_serve_now("tiny"));  // the zombie's report changed nothing
    EXPECT_EQ(registry.find("n1")->last_heartbeat, t0 + 1s);
    EXPECT_EQ(registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 2s, epoch).status,
              heartbeat_status::accepted);
    EXPECT_EQ(registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 2s, epoch + 5).status,
              heartbeat_status::unknown_node);
}

TEST_F(registry_fixture, a_pool_missing_from_a_heartbeat_is_marked_not_ready_and_new_ones_join) {
    ASSERT_TRUE(
        registry.register_node(node("n1", 10s, {{"gpu0", pool()}, {"gpu1", pool({"big"})}}), t0));
    registry.heartbeat("n1", {{"gpu0", pool()}, {"gpu2", pool({"huge"})}}, t0 + 1s);
    EXPECT_TRUE(index.serves("big"));
    EXPECT_FALSE(index.can_serve_now("big"));
    EXPECT_TRUE(index.can_serve_now("huge"));
    EXPECT_EQ(registry.find("n1")->pools.size(), 3u);
}

TEST_F(registry_fixture, deregister_removes_the_node_and_its_pools_from_placement) {
    ASSERT_TRUE(registry.register_node(node("n1"), t0));
    ASSERT_TRUE(registry.register_node(node("n2", 10s, {{"gpu0", pool({"big"})}}), t0));
    EXPECT_TRUE(registry.deregister("n1"));
    EXPECT_FALSE(registry.deregister("n1"));
    EXPECT_EQ(registry.find("n1"), nullptr);
    EXPECT_EQ(index.place(for_model()).error(), placement::placement_errc::model_not_available);
    EXPECT_TRUE(index.can_serve_now("big"));
}

TEST_F(registry_fixture, drain_takes_the_node_out_of_placement_until_it_registers_again) {
    ASSERT_TRUE(registry.register_node(node("n1"), t0));
    EXPECT_TRUE(registry.drain("n1"));
    EXPECT_EQ(registry.find("n1")->state, node_state::draining);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    EXPECT_TRUE(index.serves("tiny"));
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 1s);
    EXPECT_EQ(registry.find("n1")->state, node_state::draining);
    // Offline while draining and back: still draining.
    registry.mark_offline("n1");
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 2s);
    EXPECT_EQ(registry.find("n1")->state, node_state::draining);
    ASSERT_TRUE(registry.register_node(node("n1"), t0 + 3s));
    EXPECT_EQ(registry.find("n1")->state, node_state::online);
    EXPECT_TRUE(index.can_serve_now("tiny"));
}

TEST_F(registry_fixture, a_connection_failure_takes_the_node_offline_at_once_until_a_heartbeat) {
    ASSERT_TRUE(registry.register_node(node("n1"), t0));
    EXPECT_TRUE(registry.mark_offline("n1"));
    EXPECT_EQ(registry.find("n1")->state, node_state::offline);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    EXPECT_FALSE(registry.mark_offline("n1"));  // already offline
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 1s);
    EXPECT_EQ(registry.find("n1")->state, node_state::online);
    EXPECT_TRUE(index.can_serve_now("tiny"));
}

TEST_F(registry_fixture, a_failed_node_stays_out_until_it_registers_again) {
    ASSERT_TRUE(registry.register_node(node("n1"), t0));
    EXPECT_TRUE(registry.mark_failed("n1"));
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 1s);
    EXPECT_EQ(registry.find("n1")->state, node_state::failed);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    ASSERT_TRUE(registry.register_node(node("n1"), t0 + 2s));
    EXPECT_TRUE(index.can_serve_now("tiny"));
}

TEST_F(registry_fixture, a_silent_node_goes_offline_after_the_node_timeout) {
    ASSERT_TRUE(registry.register_node(node("n1", 5s), t0));
    EXPECT_TRUE(check_until(t0 + 5s, t0 + 25s).empty());
    EXPECT_EQ(check_until(t0 + 30s, t0 + 30s), (std::vector<std::string>{"n1"}));
    EXPECT_EQ(registry.find("n1")->state, node_state::offline);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    // It comes back with its next heartbeat.
    registry.heartbeat("n1", {{"gpu0", pool()}}, t0 + 31s);
    EXPECT_EQ(registry.find("n1")->state, node_state::online);
}

TEST_F(registry_fixture, a_slow_heartbeat_interval_stretches_the_timeout_to_three_intervals) {
    ASSERT_TRUE(registry.register_node(node("slow", 20s), t0));
    ASSERT_TRUE(registry.register_node(node("fast", 5s), t0));
    EXPECT_EQ(registry.timeout_of(*registry.find("slow")), 60s);
    EXPECT_EQ(registry.timeout_of(*registry.find("fast")), 30s);
    EXPECT_EQ(check_until(t0 + 5s, t0 + 55s), (std::vector<std::string>{"fast"}));
    EXPECT_EQ(check_until(t0 + 60s, t0 + 60s), (std::vector<std::string>{"slow"}));
}

TEST_F(registry_fixture, heartbeats_keep_a_node_online) {
    ASSERT_TRUE(registry.register_node(node("n1", 10s), t0));
    for (auto t = t0 + 5s; t <= t0 + 300s; t += 5s) {
        if ((t - t0) % 10s == 0s) registry.heartbeat("n1", {{"gpu0", pool()}}, t);
        EXPECT_TRUE(registry.check_stale(t).empty());
    }
    EXPECT_EQ(registry.find("n1")->state, node_state::online);
}

TEST_F(registry_fixture, no_node_goes_offline_before_one_full_timeout_after_start) {
    // A node registered with a heartbeat time from before the registry existed (a clock the
    // caller carried over) is still given one full timeout from the registry's start.
    node_registry late_start(config(), index, t0 + 100s);
    ASSERT_TRUE(late_start.register_node(node("n1", 5s), t0));
    for (auto t = t0 + 105s; t < t0 + 130s; t += 5s) EXPECT_TRUE(late_start.check_stale(t).empty());
    EXPECT_EQ(late_start.check_stale(t0 + 130s), (std::vector<std::string>{"n1"}));
}

TEST_F(registry_fixture, a_stale_check_that_runs_late_restarts_the_grace_window) {
    ASSERT_TRUE(registry.register_node(node("n1", 5s), t0));
    ASSERT_TRUE(registry.register_node(node("n2", 5s), t0));
    EXPECT_TRUE(check_until(t0 + 5s, t0 + 10s).empty());
    // The process stalls for a minute: the next check is far more than 2 intervals late.
    EXPECT_TRUE(registry.check_stale(t0 + 70s).empty());
    EXPECT_EQ(registry.find("n1")->state, node_state::online);
    // n2 heartbeats after the stall; n1 stays silent and expires one timeout after the stall.
    registry.heartbeat("n2", {{"gpu0", pool()}}, t0 + 72s);
    EXPECT_TRUE(check_until(t0 + 75s, t0 + 95s).empty());
    EXPECT_EQ(check_until(t0 + 100s, t0 + 100s), (std::vector<std::string>{"n1"}));
}

TEST_F(registry_fixture, refuses_an_incompatible_version_and_names_the_compatible_ones) {
    auto r = node("n1");
    r.version = "0.2.0";
    auto result = registry.register_node(r, t0);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, registry_errc::incompatible_version);
    EXPECT_NE(result.error().message.find("0.1.x"), std::string::npos);
    // And what to do about it.
    EXPECT_NE(result.error().message.find("install the control plane's release on this node"),
              std::string::npos)
        << result.error().message;
    EXPECT_EQ(registry.find("n1"), nullptr);
    r.version = "0.1.7";
    EXPECT_TRUE(registry.register_node(r, t0));
}

TEST(node_registry_version, compares_major_and_for_zero_major_also_minor) {
    EXPECT_TRUE(node_registry::version_compatible("1.4.0", "1.0.0"));
    EXPECT_FALSE(node_registry::version_compatible("2.0.0", "1.0.0"));
    EXPECT_TRUE(node_registry::version_compatible("v0.1.9", "0.1.0"));
    EXPECT_FALSE(node_registry::version_compatible("garbage", "0.1.0"));
    EXPECT_TRUE(node_registry::version_compatible("anything", ""));
}

TEST_F(registry_fixture, refuses_an_invalid_registration) {
    for (auto bad : {node(""), node("a/b"), node("n1", 0s)}) {
        auto result = registry.register_node(bad, t0);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, registry_errc::invalid_registration);
    }
    auto no_address = node("n1");
    no_address.address.clear();
    EXPECT_FALSE(registry.register_node(no_address, t0));
    EXPECT_TRUE(registry.nodes().empty());
}

TEST(node_registry_vram, a_pool_below_the_vram_policy_is_not_placed) {
    placement::placement_index index;
    auto c = config();
    c.min_vram_free_bytes = 1'000;
    node_registry registry(c, index, t0);
    auto low = pool();
    low.vram_total_bytes = 10'000;
    low.vram_free_bytes = 500;
    ASSERT_TRUE(registry.register_node(node("n1", 10s, {{"gpu0", low}}), t0));
    EXPECT_FALSE(index.can_serve_now("tiny"));
    low.vram_free_bytes = 5'000;
    registry.heartbeat("n1", {{"gpu0", low}}, t0 + 1s);
    EXPECT_TRUE(index.can_serve_now("tiny"));
}

std::vector<pool_report> numbered_pools(int n) {
    std::vector<pool_report> out;
    for (int i = 0; i < n; ++i) out.push_back({"p" + std::to_string(i), pool()});
    return out;
}

TEST(node_registry_cap, refuses_a_registration_with_more_pools_than_the_cap) {
    placement::placement_index index;
    auto c = config();
    c.max_pools_per_node = 3;
    node_registry registry(c, index, t0);
    auto refused = registry.register_node(node("n1", 10s, numbered_pools(4)), t0);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, registry_errc::too_many_pools);
    EXPECT_NE(refused.error().message.find("4 pools"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("at most 3"), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(registry.find("n1"), nullptr);
    EXPECT_EQ(index.pool_count(), 0u);
    EXPECT_TRUE(registry.register_node(node("n1", 10s, numbered_pools(3)), t0));
    EXPECT_EQ(index.pool_count(), 3u);
}

TEST(node_registry_cap, refuses_a_heartbeat_with_more_pools_than_the_cap_and_changes_nothing) {
    placement::placement_index index;
    auto c = config();
    c.max_pools_per_node = 3;
    node_registry registry(c, index, t0);
    ASSERT_TRUE(registry.register_node(node("n1", 10s, numbered_pools(2)), t0));
    auto r = registry.heartbeat("n1", numbered_pools(4), t0 + 1s);
    EXPECT_EQ(r.status, heartbeat_status::too_many_pools);
    EXPECT_EQ(index.pool_count(), 2u);
    EXPECT_EQ(registry.find("n1")->last_heartbeat, t0) << "a refused heartbeat counted";
}

TEST_F(registry_fixture, a_heartbeat_touches_only_the_pools_that_changed) {
    ASSERT_TRUE(registry.register_node(node("n1", 10s, numbered_pools(100)), t0));
    const auto before = index.updates_applied();
    registry.heartbeat("n1", numbered_pools(100), t0 + 1s);
    EXPECT_EQ(index.updates_applied(), before) << "an unchanged heartbeat touched the index";

    auto one = numbered_pools(100);
    one[42].state.slots_free = 1;
    registry.heartbeat("n1", one, t0 + 2s);
    EXPECT_EQ(index.updates_applied(), before + 1);
    EXPECT_EQ(index.find(*index.find("n1", "p42"))->free_slots(), 1);
    EXPECT_EQ(index.find(*index.find("n1", "p41"))->free_slots(), 4);

    // A pool missing from a heartbeat is marked not ready once, not again while it stays away.
    auto missing = numbered_pools(100);
    missing[42].state.slots_free = 1;
    missing.erase(missing.begin() + 7);
    registry.heartbeat("n1", missing, t0 + 3s);
    EXPECT_EQ(index.updates_applied(), before + 2);
    EXPECT_FALSE(index.find(*index.find("n1", "p7"))->state.ready);
    registry.heartbeat("n1", missing, t0 + 4s);
    EXPECT_EQ(index.updates_applied(), before + 2);
    // Back in the next one: ready again.
    registry.heartbeat("n1", one, t0 + 5s);
    EXPECT_TRUE(index.find(*index.find("n1", "p7"))->state.ready);
}

// The node's count of busy slots is taken at every report, also when the report equals the last
// one: our own tasks may have ended since, and the node's busy slots are then someone else's.
TEST_F(registry_fixture, an_unchanged_heartbeat_still_takes_the_nodes_busy_slots) {
    ASSERT_TRUE(registry.register_node(node("n1", 10s, {{"gpu0", pool()}}), t0));
    auto ref = *index.find("n1", "gpu0");
    index.on_dispatch(ref);
    index.on_dispatch(ref);
    auto busy = pool();
    busy.slots_free = 2;
    registry.heartbeat("n1", {{"gpu0", busy}}, t0 + 1s);
    EXPECT_EQ(index.find(ref)->free_slots(), 2);
    index.on_complete(ref);
    index.on_complete(ref);
    EXPECT_EQ(index.find(ref)->free_slots(), 4);
    registry.heartbeat("n1", {{"gpu0", busy}}, t0 + 2s);
    EXPECT_EQ(index.find(ref)->free_slots(), 2);
}

TEST_F(registry_fixture, a_registration_with_fewer_pools_removes_the_others_and_keeps_the_rest) {
    ASSERT_TRUE(registry.register_node(node("n1", 10s, numbered_pools(10)), t0));
    ASSERT_TRUE(registry.register_node(node("n2", 10s, numbered_pools(3)), t0));
    auto keep = numbered_pools(10);
    keep.erase(keep.begin() + 5);
    keep.erase(keep.begin() + 1);
    ASSERT_TRUE(registry.register_node(node("n1", 10s, keep), t0 + 1s));
    EXPECT_EQ(index.pool_count(), 8u + 3u);
    EXPECT_FALSE(index.find("n1", "p1"));
    EXPECT_FALSE(index.find("n1", "p5"));
    for (const auto& p : keep) {
        auto ref = index.find("n1", p.pool_id);
        ASSERT_TRUE(ref) << p.pool_id;
        EXPECT_EQ(index.find(*ref)->pool_id, p.pool_id);
    }
    EXPECT_EQ(registry.find("n1")->pools.size(), 8u);
    // Heartbeats keep finding the pools by id after the removal.
    keep[6].state.slots_free = 0;  // p8
    registry.heartbeat("n1", keep, t0 + 2s);
    EXPECT_EQ(index.find(*index.find("n1", "p8"))->free_slots(), 0);
    EXPECT_TRUE(registry.deregister("n1"));
    EXPECT_EQ(index.pool_count(), 3u);
    EXPECT_TRUE(index.find("n2/p2"));
}

}  // namespace
}  // namespace llorch::registry
