// swap_rule with fake devices and instances: when busy holders yield to a waiting load, and a
// small simulation of one device that holds one model (residency's plan plus the rule, time
// stepped by hand) for fairness, thrash, generations never cut and loads never evicted.
#include "pool/swap_rule.h"

#include <deque>
#include <map>

#include <gtest/gtest.h>

namespace llorch::pool {
namespace {

using namespace std::chrono_literals;
using tp = swap_clock::time_point;
constexpr uint64_t one_mib = 1ull << 20;
const tp swap_t0 = tp{} + 1h;

resident busy(std::string id, uint64_t mib, std::chrono::milliseconds ready_at) {
    return {.id = std::move(id),
            .device = "gpu:0",
            .bytes = mib * one_mib,
            .busy = true,
            .ready_since = swap_t0 + ready_at};
}

TEST(swap_rule, a_busy_holder_keeps_serving_for_swap_wait_from_when_the_load_began_to_wait) {
    const device_memory dev{"gpu:0", 0, 1000 * one_mib};
    std::vector<resident> on = {busy("a", 800, -60s)};
    auto early = plan_yield(500 * one_mib, dev, on, swap_t0, 3s, swap_t0 + 2999ms);
    EXPECT_TRUE(early.yield.empty());
    EXPECT_EQ(early.decide_at, swap_t0 + 3s);
    auto due = plan_yield(500 * one_mib, dev, on, swap_t0, 3s, swap_t0 + 3s);
    EXPECT_EQ(due.yield, std::vector<std::string>{"a"});
    EXPECT_EQ(due.device, "gpu:0");
}

TEST(swap_rule, a_holder_that_just_loaded_serves_swap_wait_before_it_yields) {
    const device_memory dev{"gpu:0", 0, 1000 * one_mib};
    // The load has waited 10 s, but the holder became ready 1 s ago.
    std::vector<resident> on = {busy("a", 800, 9s)};
    auto p = plan_yield(500 * one_mib, dev, on, swap_t0, 3s, swap_t0 + 10s);
    EXPECT_TRUE(p.yield.empty());
    EXPECT_EQ(p.decide_at, swap_t0 + 12s);
}

TEST(swap_rule, zero_swap_wait_yields_as_soon_as_a_load_waits) {
    const device_memory dev{"gpu:0", 0, 1000 * one_mib};
    auto p = plan_yield(500 * one_mib, dev, {busy("a", 800, -1s)}, swap_t0, 0ms, swap_t0);
    EXPECT_EQ(p.yield, std::vector<std::string>{"a"});
}

TEST(swap_rule, only_the_holders_needed_yield_and_all_of_them_together) {
    const device_memory dev{"gpu:0", 100 * one_mib, 1000 * one_mib};
    // b's bound ends first; b alone frees too little, b and a enough; c is not needed.
    std::vector<resident> on = {busy("a", 300, 2s), busy("b", 200, 0s), busy("c", 300, 5s)};
    auto before = plan_yield(550 * one_mib, dev, on, swap_t0, 3s, swap_t0 + 4s);
    EXPECT_TRUE(before.yield.empty());  // b may, a not yet: nobody stops for nothing
    EXPECT_EQ(before.decide_at, swap_t0 + 5s);
    auto due = plan_yield(550 * one_mib, dev, on, swap_t0, 3s, swap_t0 + 5s);
    EXPECT_EQ(due.yield, (std::vector<std::string>{"b", "a"}));
}

TEST(swap_rule, counts_idle_and_yielding_instances_as_leaving_and_asks_no_more) {
    const device_memory dev{"gpu:0", 0, 1000 * one_mib};
    auto y = busy("y", 400, -10s);
    y.yielding = true;
    auto idle = busy("idle", 200, -10s);
    idle.busy = false;
    auto p = plan_yield(500 * one_mib, dev, {y, idle, busy("a", 300, -10s)}, swap_t0, 0ms, swap_t0);
    EXPECT_TRUE(p.yield.empty());
    EXPECT_EQ(p.decide_at, swap_t0);
}

TEST(swap_rule, loading_and_pinned_instances_are_never_asked_to_yield) {
    const device_memory dev{"gpu:0", 0, 1000 * one_mib};
    auto loading = busy("loading", 500, -10s);
    loading.loading = true;
    auto pinned = busy("pinned", 500, -10s);
    pinned.pinned = true;
    auto p = plan_yield(300 * one_mib, dev, {loading, pinned}, swap_t0, 0ms, swap_t0 + 1h);
    EXPECT_TRUE(p.yield.empty());
    EXPECT_EQ(p.decide_at, tp::max());
}

TEST(swap_rule, chooses_the_device_whose_holders_may_yield_first) {
    std::vector<device_memory> devs = {{"gpu:0", 0, 1000 * one_mib}, {"gpu:1", 0, 1000 * one_mib}};
    auto a = busy("a", 800, 10s);
    auto b = busy("b", 800, 0s);
    b.device = "gpu:1";
    auto p = choose_yield(500 * one_mib, devs, {a, b}, swap_t0, 3s, swap_t0 + 3s);
    EXPECT_EQ(p.device, "gpu:1");
    EXPECT_EQ(p.yield, std::vector<std::string>{"b"});
}

TEST(residency, evicts_idle_instances_nobody_waits_for_before_wanted_ones) {
    auto wanted = busy("wanted", 300, 0s);
    wanted.busy = false;
    wanted.wanted = true;
    wanted.last_used = swap_t0;
    auto unwanted = busy("unwanted", 300, 0s);
    unwanted.busy = false;
    unwanted.last_used = swap_t0 + 10s;  // used more recently, yet nobody waits for it
    auto p = plan_load(200 * one_mib, {"gpu:0", 0, 1000 * one_mib}, {wanted, unwanted});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->evict, std::vector<std::string>{"unwanted"});
}

// One device that holds one of two models. Requests arrive at given times, are served in
// arrival order by the loaded model (`slots` at a time, `gen` each), and a model with queued
// requests and no instance loads (`load` long) as residency and swap_rule allow.
struct device_sim {
    std::chrono::milliseconds swap_wait{3000};
    std::chrono::milliseconds gen{200}, load{300};
    int slots = 2;
    struct request {
        std::string model;
        tp arrival;
        std::optional<tp> start;
    };
    struct instance {
        bool loading = true;
        tp ready_at, ready_since, last_used;
        std::vector<tp> ends;  // generations in flight
        bool yielding = false;
    };
    std::vector<request> requests;
    std::map<std::string, instance> loaded;
    std::map<std::string, tp> waiting_since;
    int swaps = 0;  // loads that evicted the other model

    void step(tp now) {
        for (auto& [id, in] : loaded) {
            std::erase_if(in.ends, [&](tp e) { return e <= now; });
            if (in.loading && in.ready_at <= now) {
                in.loading = false;
                in.ready_since = in.last_used = now;
            }
        }
        for (auto& r : requests) {
            if (r.start || r.arrival > now) continue;
            auto it = loaded.find(r.model);
            if (it == loaded.end() || it->second.loading || it->second.yielding ||
                static_cast<int>(it->second.ends.size()) >= slots)
                continue;
            r.start = now;
            it->second.ends.push_back(now + gen);
            it->second.last_used = now;
        }
        for (const auto& r : requests)
            if (!r.start && r.arrival <= now && !loaded.contains(r.model)) try_load(r.model, now);
    }
    void try_load(const std::string& m, tp now) {
        const uint64_t need = 600 * one_mib;
        const device_memory dev{"gpu:0", 1000 * one_mib - 600 * one_mib * loaded.size(),
                                1000 * one_mib};
        std::vector<resident> on;
        for (const auto& [id, in] : loaded)
            on.push_back({.id = id,
                          .device = "gpu:0",
                          .bytes = need,
                          .busy = !in.ends.empty(),
                          .loading = in.loading,
                          .yielding = in.yielding,
                          .last_used = in.last_used,
                          .ready_since = in.ready_since});
        auto since = waiting_since.try_emplace(m, now).first->second;
        auto plan = plan_load(need, dev, on);
        if (plan) {
            for (const auto& id : plan->evict) {
                auto& victim = loaded.at(id);
                EXPECT_TRUE(victim.ends.empty()) << "a generation of " << id << " was cut";
                EXPECT_FALSE(victim.loading) << id << " was evicted while loading";
                loaded.erase(id);
            }
            swaps += plan->evict.empty() ? 0 : 1;
            loaded[m] = instance{.loading = true, .ready_at = now + load};
            waiting_since.erase(m);
            return;
        }
        ASSERT_EQ(plan.error().code, residency_errc::must_wait);
        for (const auto& id : plan_yield(need, dev, on, since, swap_wait, now).yield)
            loaded.at(id).yielding = true;
    }
    void run(std::chrono::milliseconds length) {
        for (tp now = swap_t0; now < swap_t0 + length; now += 10ms) step(now);
    }
    std::chrono::milliseconds longest_wait(const std::string& m) const {
        std::chrono::milliseconds worst{0};
        for (const auto& r : requests) {
            if (r.model != m) continue;
            EXPECT_TRUE(r.start) << "a request for " << m << " never started";
            if (r.start)
                worst = std::max(worst, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            *r.start - r.arrival));
        }
        return worst;
    }
};

TEST(swap_rule_sim, steady_traffic_for_one_model_lets_another_in_within_the_bound) {
    device_sim sim;
    // a: a request every 80 ms for 20 s, more than its two slots of 200 ms serve, so it is
    // always busy and always has a queue.
    for (auto t = 0ms; t < 20s; t += 80ms) sim.requests.push_back({"a", swap_t0 + t, {}});
    sim.requests.push_back({"b", swap_t0 + 5s, {}});
    sim.run(60s);
    // b waits at most swap_wait, the generations a had in flight, and its own load.
    EXPECT_LE(sim.longest_wait("b"), sim.swap_wait + sim.gen + sim.load + 20ms);
    EXPECT_GE(sim.longest_wait("b"), sim.swap_wait);  // a kept its device that long
}

TEST(swap_rule_sim, without_a_bound_the_other_model_waits_until_the_traffic_stops) {
    device_sim sim;
    sim.swap_wait = std::chrono::hours(1);
    for (auto t = 0ms; t < 20s; t += 80ms) sim.requests.push_back({"a", swap_t0 + t, {}});
    sim.requests.push_back({"b", swap_t0 + 5s, {}});
    sim.run(120s);
    EXPECT_GT(sim.longest_wait("b"), 15s);
}

TEST(swap_rule_sim, alternating_models_switch_at_most_once_per_swap_wait_window) {
    device_sim sim;
    sim.swap_wait = 2s;
    // a, b, a, b ... every 100 ms for 30 s.
    int i = 0;
    for (auto t = 0ms; t < 30s; t += 100ms)
        sim.requests.push_back({i++ % 2 ? "b" : "a", swap_t0 + t, {}});
    sim.run(90s);
    sim.longest_wait("a");
    sim.longest_wait("b");
    // Each load serves at least swap_wait (2 s) of the 30 s of arrivals, plus what is left after.
    EXPECT_LE(sim.swaps, 30 / 2 + 2);
    EXPECT_GE(sim.swaps, 3);

    device_sim fifo;
    fifo.swap_wait = 0ms;
    fifo.requests = sim.requests;
    for (auto& r : fifo.requests) r.start.reset();
    fifo.run(180s);
    // Swapping whenever the other model waits: a swap for every slot-full of requests.
    EXPECT_GT(fifo.swaps, 2 * sim.swaps);
}

}  // namespace
}  // namespace llorch::pool
