// load_choice: where an on-demand model loads across nodes — tiers (fits, evicts, waits), the
// cold-start cost within a tier, never when the model cannot fit anywhere, and no load while a
// free slot, a load under way or a shorter wait for the loaded instances serves the task.

#include "placement/load_choice.h"

#include <gtest/gtest.h>

namespace llorch::placement {
namespace {
using namespace std::chrono_literals;

constexpr uint64_t MiB = 1ull << 20;

load_site site(std::string node, uint64_t need, uint64_t free, uint64_t evictable = 0,
               uint64_t total = 0, std::chrono::milliseconds load_time = 0ms) {
    return {.node_id = std::move(node),
            .pool_id = "m",
            .need_bytes = need,
            .free_bytes = free,
            .evictable_bytes = evictable,
            .total_bytes = total,
            .load_time = load_time};
}

load_demand cold() { return {.loaded_slots = 0, .free_slots = 0, .waiting = 1}; }

std::string chosen(const load_choice_result<std::optional<load_decision>>& r) {
    if (!r) return "error: " + r.error().message;
    return *r ? (*r)->node_id : "none";
}

TEST(load_choice, a_node_where_it_fits_beats_one_that_must_evict_and_one_that_must_wait) {
    std::vector<load_site> sites{site("waits", 500 * MiB, 100 * MiB, 100 * MiB, 1000 * MiB),
                                 site("evicts", 500 * MiB, 100 * MiB, 600 * MiB, 1000 * MiB),
                                 site("fits", 500 * MiB, 800 * MiB, 0, 1000 * MiB, 9'000ms)};
    auto r = choose_load(cold(), sites);
    EXPECT_EQ(chosen(r), "fits");
    EXPECT_EQ((*r)->tier, load_tier::fits);
    sites.pop_back();
    r = choose_load(cold(), sites);
    EXPECT_EQ(chosen(r), "evicts");
    EXPECT_EQ((*r)->tier, load_tier::evicts);
    sites.pop_back();
    r = choose_load(cold(), sites);
    EXPECT_EQ(chosen(r), "waits");
    EXPECT_EQ((*r)->tier, load_tier::waits);
}

TEST(load_choice, within_a_tier_the_shorter_measured_cold_start_wins_then_more_free_memory) {
    std::vector<load_site> sites{site("slow", 100 * MiB, 4000 * MiB, 0, 0, 3'000ms),
                                 site("quick", 100 * MiB, 200 * MiB, 0, 0, 800ms)};
    EXPECT_EQ(chosen(choose_load(cold(), sites)), "quick");
    sites[0].load_time = 800ms;  // equal cost: the roomier node
    EXPECT_EQ(chosen(choose_load(cold(), sites)), "slow");
    // Not measured yet: 1 s plus 1 ms per MiB.
    EXPECT_EQ(cold_start_cost(site("x", 2048 * MiB, 0), load_tier::fits), 3'048ms);
    EXPECT_EQ(cold_start_cost(site("x", 2048 * MiB, 0, 0, 0, 700ms), load_tier::evicts), 1'200ms);
}

TEST(load_choice, a_model_larger_than_every_device_is_refused_naming_its_memory) {
    std::vector<load_site> sites{site("a", 3000 * MiB, 100 * MiB, 500 * MiB, 1000 * MiB),
                                 site("b", 3000 * MiB, 2000 * MiB, 0, 2048 * MiB)};
    auto r = choose_load(cold(), sites);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, load_choice_errc::never_fits);
    EXPECT_NE(r.error().message.find("3000 MiB"), std::string::npos) << r.error().message;
    // An unknown total is never ruled out: the node decides when it loads.
    sites[0].total_bytes = 0;
    EXPECT_EQ(chosen(choose_load(cold(), sites)), "a");
}

TEST(load_choice, no_load_while_a_loaded_instance_has_a_free_slot_or_a_load_is_under_way) {
    std::vector<load_site> sites{site("a", 100 * MiB, 4000 * MiB)};
    EXPECT_EQ(chosen(choose_load({.loaded_slots = 2, .free_slots = 1, .waiting = 1}, sites)),
              "none");
    sites.push_back(site("b", 100 * MiB, 4000 * MiB));
    sites.back().loading = true;
    EXPECT_EQ(chosen(choose_load(cold(), sites)), "none");
    EXPECT_EQ(chosen(choose_load(cold(), {})), "none");
}

TEST(load_choice, busy_loaded_instances_get_a_second_one_only_when_the_wait_costs_more) {
    std::vector<load_site> sites{site("b", 100 * MiB, 4000 * MiB, 0, 0, 2'000ms)};
    // 2 slots busy, 3 waiting at 1 s each: two rounds, 2 s — not more than the 2 s load.
    load_demand d{.loaded_slots = 2, .free_slots = 0, .waiting = 3, .service_time = 1'000ms};
    EXPECT_EQ(chosen(choose_load(d, sites)), "none");
    d.waiting = 5;  // three rounds, 3 s: the load is cheaper
    auto r = choose_load(d, sites);
    EXPECT_EQ(chosen(r), "b");
    EXPECT_EQ((*r)->cold_start, 2'000ms);
}

TEST(load_choice, an_unknown_estimate_counts_as_fitting) {
    std::vector<load_site> sites{site("known", 900 * MiB, 100 * MiB, 900 * MiB),
                                 site("unknown", 0, 0)};
    EXPECT_EQ(tier_of(sites[1]), load_tier::fits);
    EXPECT_EQ(chosen(choose_load(cold(), sites)), "unknown");
}

}  // namespace
}  // namespace llorch::placement
