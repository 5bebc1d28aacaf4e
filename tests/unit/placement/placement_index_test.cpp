#include "placement/placement_index.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace llorch::placement {
namespace {

// Builds "prefix<n>" by appending (g++ 12 warns falsely on `"literal" + std::string`).
std::string numbered(std::string_view prefix, long n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

pool_state ready_pool(std::vector<std::string> models = {"tiny"}, int slots = 4) {
    pool_state s;
    s.models = std::move(models);
    s.engine = "llamacpp";
    s.ready = true;
    s.slots_total = slots;
    s.slots_free = slots;
    return s;
}

placement_request for_model(std::string model = "tiny") {
    placement_request r;
    r.model = std::move(model);
    return r;
}

placement_config with(placement_strategy s) {
    placement_config c;
    c.strategy = s;
    c.seed = 42;
    return c;
}

// Places `n` tasks, completing each at once so free slots stay as they are; counts per pool.
std::map<std::string, int> place_many(placement_index& index, int n,
                                      const placement_request& r = for_model()) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) {
        auto d = index.place(r);
        if (!d) {
            ADD_FAILURE() << "no decision: " << to_string(d.error());
            break;
        }
        ++counts[d->node_id.empty() ? d->pool_id : d->node_id + "/" + d->pool_id];
        index.on_dispatch(d->pool);
        index.on_complete(d->pool);
    }
    return counts;
}

TEST(placement_index, unknown_model_is_not_available) {
    placement_index index;
    index.upsert_pool("", "p0", ready_pool());
    auto d = index.place(for_model("nope"));
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), placement_errc::model_not_available);
    EXPECT_FALSE(index.serves("nope"));
    EXPECT_TRUE(index.serves("tiny"));
}

TEST(placement_index, embedding_tasks_go_only_to_pools_that_answer_embeddings) {
    placement_index index(with(placement_strategy::round_robin));
    index.upsert_pool("", "chat", ready_pool({"tiny", "tiny-alias"}));
    auto emb = ready_pool({"tiny", "tiny-alias"});
    emb.embeddings = true;
    auto e = index.upsert_pool("", "emb", emb);
    EXPECT_TRUE(index.serves(embeddings_key("tiny-alias")));
    EXPECT_FALSE(index.serves(embeddings_key("nope")));
    EXPECT_EQ(model_of_key(embeddings_key("tiny")), "tiny");
    auto counts = place_many(index, 6, for_model(embeddings_key("tiny")));
    EXPECT_EQ(counts, (std::map<std::string, int>{{"emb", 6}}));
    // Generation still goes to both.
    EXPECT_EQ(place_many(index, 6).size(), 2u);
    // A report that turns embeddings off takes the pool out of embedding placement.
    emb.embeddings = false;
    index.update_pool(e, emb);
    EXPECT_FALSE(index.serves(embeddings_key("tiny")));
    auto d = index.place(for_model(embeddings_key("tiny")));
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), placement_errc::model_not_available);
}

TEST(placement_index, known_model_with_all_pools_busy_waits) {
    placement_index index;
    auto p = index.upsert_pool("", "p0", ready_pool({"tiny"}, 1));
    index.on_dispatch(p);
    auto d = index.place(for_model());
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), placement_errc::no_capacity);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    index.on_complete(p);
    EXPECT_TRUE(index.can_serve_now("tiny"));
    EXPECT_TRUE(index.place(for_model()));
}

TEST(placement_index, round_robin_visits_every_eligible_pool_evenly) {
    placement_index index(with(placement_strategy::round_robin));
    for (int i = 0; i < 5; ++i) index.upsert_pool("", numbered("p", i), ready_pool());
    index.upsert_pool("", "other", ready_pool({"big"}));
    auto counts = place_many(index, 500);
    ASSERT_EQ(counts.size(), 5u);
    for (const auto& [pool, n] : counts) EXPECT_EQ(n, 100) << pool;
}

TEST(placement_index, round_robin_spreads_across_nodes_while_slots_are_held) {
    placement_index index(with(placement_strategy::round_robin));
    for (const char* node : {"n1", "n2", "n3"}) {
        index.upsert_node(node, std::string("http://") + node);
        index.upsert_pool(node, "gpu0", ready_pool({"tiny"}, 2));
    }
    std::map<std::string, int> counts;
    for (int i = 0; i < 6; ++i) {
        auto d = index.place(for_model());
        ASSERT_TRUE(d);
        EXPECT_EQ(d->node_address, "http://" + d->node_id);
        ++counts[d->node_id];
        index.on_dispatch(d->pool);  // held: slots fill up
    }
    EXPECT_EQ(counts, (std::map<std::string, int>{{"n1", 2}, {"n2", 2}, {"n3", 2}}));
    EXPECT_EQ(index.place(for_model()).error(), placement_errc::no_capacity);
}

TEST(placement_index, least_loaded_picks_the_pool_with_most_free_slots) {
    placement_index index(with(placement_strategy::least_loaded));
    auto a = index.upsert_pool("", "a", ready_pool({"tiny"}, 4));
    auto b = index.upsert_pool("", "b", ready_pool({"tiny"}, 8));
    auto c = index.upsert_pool("", "c", ready_pool({"tiny"}, 6));
    for (int i = 0; i < 5; ++i) index.on_dispatch(b);  // b: 3 free, c: 6, a: 4
    auto d = index.place(for_model());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool, c);
    for (int i = 0; i < 3; ++i) index.on_dispatch(c);  // c: 3 free, a: 4
    EXPECT_EQ(index.place(for_model())->pool, a);
    // Held dispatches keep the free counts level.
    for (int i = 0; i < 6; ++i) {
        auto next = index.place(for_model());
        ASSERT_TRUE(next);
        const int best = std::max({index.find(a)->free_slots(), index.find(b)->free_slots(),
                                   index.find(c)->free_slots()});
        EXPECT_EQ(index.find(next->pool)->free_slots(), best);
        index.on_dispatch(next->pool);
    }
}

TEST(placement_index, weighted_follows_capacity) {
    placement_index index(with(placement_strategy::weighted));
    index.upsert_pool("", "w1", ready_pool({"tiny"}, 1));
    index.upsert_pool("", "w2", ready_pool({"tiny"}, 2));
    index.upsert_pool("", "w3", ready_pool({"tiny"}, 3));
    index.upsert_pool("", "w4", ready_pool({"tiny"}, 4));
    const int n = 20'000;
    auto counts = place_many(index, n);
    for (int w = 1; w <= 4; ++w) {
        const double share = static_cast<double>(counts[numbered("w", w)]) / n;
        EXPECT_NEAR(share, w / 10.0, 0.015) << "w" << w;
    }
}

TEST(placement_index, weighted_follows_a_configured_weight_over_slots) {
    placement_index index(with(placement_strategy::weighted));
    auto light = ready_pool({"tiny"}, 4);
    light.weight = 1;
    auto heavy = ready_pool({"tiny"}, 4);
    heavy.weight = 3;  // three times the picks of the light one, with the same slots
    index.upsert_pool("", "w1", light);
    auto ref = index.upsert_pool("", "w3", heavy);
    const int n = 20'000;
    auto counts = place_many(index, n);
    EXPECT_NEAR(static_cast<double>(counts["w3"]) / n, 0.75, 0.015);
    heavy.weight = 0;  // back to its slots: 4 against 1
    index.update_pool(ref, heavy);
    counts = place_many(index, n);
    EXPECT_NEAR(static_cast<double>(counts["w3"]) / n, 0.8, 0.015);
}

TEST(placement_index, random_covers_all_pools) {
    placement_index index(with(placement_strategy::random));
    for (int i = 0; i < 8; ++i)
        index.upsert_pool("", numbered("r", i), ready_pool({"tiny"}, 1 + i));
    auto counts = place_many(index, 8'000);
    ASSERT_EQ(counts.size(), 8u);
    // Uniform, not by capacity.
    for (const auto& [pool, c] : counts) EXPECT_NEAR(c, 1'000, 150) << pool;
}

TEST(placement_index, random_is_reproducible_with_the_same_seed) {
    auto run = [] {
        placement_index index(with(placement_strategy::random));
        for (int i = 0; i < 8; ++i) index.upsert_pool("", numbered("r", i), ready_pool());
        std::vector<uint32_t> picks;
        for (int i = 0; i < 50; ++i) picks.push_back(index.place(for_model())->pool.index);
        return picks;
    };
    EXPECT_EQ(run(), run());
}

TEST(placement_index, hybrid_prefers_free_capacity_health_and_low_latency) {
    placement_config c = with(placement_strategy::hybrid);
    c.hybrid = hybrid_weights{1.0, 1.0, 0.5, 0.0, 100.0};
    c.latency_alpha = 1.0;
    placement_index index(c);
    auto fast = index.upsert_pool("", "fast", ready_pool());
    auto slow = index.upsert_pool("", "slow", ready_pool());
    index.on_dispatch(fast);
    index.on_complete(fast, true, 10.0);
    index.on_dispatch(slow);
    index.on_complete(slow, true, 1'000.0);
    EXPECT_EQ(index.place(for_model())->pool, fast);
    // Fill `fast` until its free capacity outweighs its latency advantage.
    index.on_dispatch(fast);
    index.on_dispatch(fast);
    index.on_dispatch(fast);  // fast: 1/4 free, slow: 4/4 free
    EXPECT_EQ(index.place(for_model())->pool, slow);
    // Failures lower health.
    placement_index index2(c);
    auto good = index2.upsert_pool("", "good", ready_pool());
    auto bad = index2.upsert_pool("", "bad", ready_pool());
    for (int i = 0; i < 10; ++i) {
        index2.on_dispatch(bad);
        index2.on_complete(bad, false);
    }
    EXPECT_LT(index2.find(bad)->health, 0.5);
    EXPECT_EQ(index2.place(for_model())->pool, good);
}

TEST(placement_index, hybrid_affinity_weight_keeps_a_session_on_a_slightly_worse_pool) {
    placement_config c = with(placement_strategy::hybrid);
    c.hybrid = hybrid_weights{1.0, 0.0, 0.0, 0.5, 100.0};
    placement_index index(c);
    auto a = index.upsert_pool("", "a", ready_pool({"tiny"}, 4));
    auto b = index.upsert_pool("", "b", ready_pool({"tiny"}, 4));
    index.on_dispatch(a);  // a: 0.75 free, b: 1.0
    placement_request r = for_model();
    r.session_pool = a;
    EXPECT_EQ(index.place(r)->pool, a);  // 0.75 + 0.5 >= 1.0
    index.on_dispatch(a);
    index.on_dispatch(a);  // a: 0.25 + 0.5 < 1.0
    EXPECT_EQ(index.place(r)->pool, b);
}

struct filter_case {
    const char* name;
    std::function<void(placement_index&, pool_ref)> exclude;
};

TEST(placement_index, each_filter_excludes_a_pool) {
    const std::vector<filter_case> cases = {
        {"node offline", [](placement_index& i, pool_ref) { i.set_node_available("n1", false); }},
        {"breaker open", [](placement_index& i, pool_ref) { i.set_node_breaker_open("n1", true); }},
        {"unhealthy (monitor)",
         [](placement_index& i, pool_ref p) { i.set_pool_healthy(p, false); }},
        {"not ready",
         [](placement_index& i, pool_ref p) {
             auto s = i.find(p)->state;
             s.ready = false;
             i.update_pool(p, s);
         }},
        {"draining",
         [](placement_index& i, pool_ref p) {
             auto s = i.find(p)->state;
             s.draining = true;
             i.update_pool(p, s);
         }},
        {"vram policy",
         [](placement_index& i, pool_ref p) {
             auto s = i.find(p)->state;
             s.vram_ok = false;
             i.update_pool(p, s);
         }},
        {"no free slot (own count)",
         [](placement_index& i, pool_ref p) {
             for (int k = 0; k < 4; ++k) i.on_dispatch(p);
         }},
        {"no free slot (reported)",
         [](placement_index& i, pool_ref p) {
             auto s = i.find(p)->state;
             s.slots_free = 0;
             i.update_pool(p, s);
         }},
        {"other model",
         [](placement_index& i, pool_ref p) {
             auto s = i.find(p)->state;
             s.models = {"big"};
             i.update_pool(p, s);
         }},
    };
    for (auto strategy :
         {placement_strategy::round_robin, placement_strategy::least_loaded,
          placement_strategy::random, placement_strategy::weighted, placement_strategy::hybrid}) {
        for (const auto& fc : cases) {
            SCOPED_TRACE(std::string(fc.name) + " / " + std::string(to_string(strategy)));
            placement_index index(with(strategy));
            auto excluded = index.upsert_pool("n1", "p", ready_pool());
            auto kept = index.upsert_pool("n2", "p", ready_pool({"tiny"}, 1));
            fc.exclude(index, excluded);
            for (int i = 0; i < 20; ++i) {
                auto d = index.place(for_model());
                ASSERT_TRUE(d);
                EXPECT_EQ(d->pool, kept);
            }
            index.on_dispatch(kept);  // the only eligible pool is now full
            EXPECT_FALSE(index.can_serve_now("tiny"));
            auto none = index.place(for_model());
            ASSERT_FALSE(none);
            EXPECT_EQ(none.error(), placement_errc::no_capacity);
        }
    }
}

TEST(placement_index, excluded_pool_returns_when_the_condition_clears) {
    placement_index index;
    auto p = index.upsert_pool("n1", "p", ready_pool());
    index.set_node_breaker_open("n1", true);
    EXPECT_FALSE(index.can_serve_now("tiny"));
    index.set_node_breaker_open("n1", false);
    EXPECT_TRUE(index.can_serve_now("tiny"));
    EXPECT_EQ(index.place(for_model())->pool, p);
}

TEST(placement_index, an_unhealthy_pool_returns_when_its_probes_recover) {
    placement_index index(with(placement_strategy::hybrid));
    auto p = index.upsert_pool("n1", "p", ready_pool());
    EXPECT_TRUE(index.set_pool_healthy(p, false));
    EXPECT_FALSE(index.can_serve_now("tiny"));
    EXPECT_TRUE(index.can_start("tiny"));  // it may come back: tasks wait for it
    EXPECT_EQ(index.place(for_model()).error(), placement_errc::no_capacity);
    index.set_pool_healthy(p, true);
    EXPECT_EQ(index.place(for_model())->pool, p);
    index.remove_pool(p);
    EXPECT_FALSE(index.set_pool_healthy(p, false));  // stale handle
}

TEST(placement_index, reported_busy_slots_beyond_our_own_count_reduce_free_slots) {
    placement_index index;
    auto p = index.upsert_pool("", "p", ready_pool({"tiny"}, 4));
    index.on_dispatch(p);
    index.on_dispatch(p);
    auto s = index.find(p)->state;
    s.slots_free = 1;  // the engine sees 3 busy, we sent 2: one is someone else's
    index.update_pool(p, s);
    EXPECT_EQ(index.find(p)->free_slots(), 1);
    // Our completions free slots at once, without waiting for the next report.
    index.on_complete(p);
    EXPECT_EQ(index.find(p)->free_slots(), 2);
    // A report that says more is free than our own count allows does not win.
    s.slots_free = 4;
    index.update_pool(p, s);
    EXPECT_EQ(index.find(p)->free_slots(), 3);
}

TEST(placement_index, pin_places_on_the_pinned_pool) {
    placement_index index;
    index.upsert_pool("n1", "gpu0", ready_pool());
    auto target = index.upsert_pool("n2", "gpu0", ready_pool());
    placement_request r = for_model();
    r.overrides.mode = placement_mode::pin;
    r.overrides.pin_pool_id = "n2/gpu0";
    for (int i = 0; i < 5; ++i) EXPECT_EQ(index.place(r)->pool, target);
}

TEST(placement_index, pin_to_an_unknown_pool_or_other_model_fails_without_fallback) {
    placement_index index;
    index.upsert_pool("n1", "gpu0", ready_pool());
    index.upsert_pool("n1", "gpu1", ready_pool({"big"}));
    placement_request r = for_model();
    r.overrides.mode = placement_mode::pin;
    for (const char* id : {"n1/nope", "nope", "n9/gpu0", "n1/gpu1"}) {
        r.overrides.pin_pool_id = id;
        auto d = index.place(r);
        ASSERT_FALSE(d) << id;
        EXPECT_EQ(d.error(), placement_errc::pin_unsatisfiable) << id;
    }
    r.overrides.allow_fallback = true;
    auto d = index.place(r);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pool_id, "gpu0");
}

TEST(placement_index, pin_to_a_busy_pool_waits_or_falls_back) {
    placement_index index;
    auto busy = index.upsert_pool("n1", "gpu0", ready_pool({"tiny"}, 1));
    auto other = index.upsert_pool("n2", "gpu0", ready_pool());
    index.on_dispatch(busy);
    placement_request r = for_model();
    r.overrides.mode = placement_mode::pin;
    r.overrides.pin_pool_id = "n1/gpu0";
    EXPECT_EQ(index.place(r).error(), placement_errc::no_capacity);
    r.overrides.allow_fallback = true;
    EXPECT_EQ(index.place(r)->pool, other);
    // A draining pin target will not come back: fail instead of waiting.
    auto s = index.find(busy)->state;
    s.draining = true;
    index.update_pool(busy, s);
    r.overrides.allow_fallback = false;
    EXPECT_EQ(index.place(r).error(), placement_errc::pin_unsatisfiable);
}

TEST(placement_index, bare_pool_id_matches_that_pool_on_any_node) {
    placement_index index;
    auto a = index.upsert_pool("n1", "gpu0", ready_pool({"tiny"}, 1));
    auto b = index.upsert_pool("n2", "gpu0", ready_pool({"tiny"}, 1));
    index.upsert_pool("n3", "gpu1", ready_pool());
    placement_request r = for_model();
    r.overrides.mode = placement_mode::pin;
    r.overrides.pin_pool_id = "gpu0";
    auto first = index.place(r);
    ASSERT_TRUE(first);
    index.on_dispatch(first->pool);
    auto second = index.place(r);
    ASSERT_TRUE(second);
    EXPECT_NE(first->pool, second->pool);
    EXPECT_TRUE((first->pool == a && second->pool == b) || (first->pool == b && second->pool == a));
}

TEST(placement_index, prefer_takes_the_first_eligible_preferred_pool) {
    placement_index index;
    index.upsert_pool("n1", "p", ready_pool());
    auto second = index.upsert_pool("n2", "p", ready_pool());
    auto first = index.upsert_pool("n3", "p", ready_pool({"tiny"}, 1));
    placement_request r = for_model();
    r.overrides.mode = placement_mode::prefer;
    r.overrides.prefer_pools = {"n9/p", "n3/p", "n2/p"};
    EXPECT_EQ(index.place(r)->pool, first);
    index.on_dispatch(first);  // full: the next preference
    EXPECT_EQ(index.place(r)->pool, second);
    index.set_node_available("n2", false);  // none preferred left: the strategy decides
    auto d = index.place(r);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->node_id, "n1");
}

TEST(placement_index, avoided_pools_are_never_chosen_by_any_strategy) {
    for (auto strategy :
         {placement_strategy::round_robin, placement_strategy::least_loaded,
          placement_strategy::random, placement_strategy::weighted, placement_strategy::hybrid}) {
        SCOPED_TRACE(std::string(to_string(strategy)));
        placement_index index(with(strategy));
        for (int i = 0; i < 4; ++i)
            index.upsert_pool(numbered("n", i), "p", ready_pool({"tiny"}, 8 - i));
        placement_request r = for_model();
        r.overrides.avoid_pools = {"n0/p", "n2/p"};
        auto counts = place_many(index, 200, r);
        EXPECT_EQ(counts.count("n0/p"), 0u);
        EXPECT_EQ(counts.count("n2/p"), 0u);
        if (strategy != placement_strategy::least_loaded &&
            strategy != placement_strategy::hybrid) {
            EXPECT_GT(counts["n1/p"], 0);
            EXPECT_GT(counts["n3/p"], 0);
        }
        // Avoiding every pool that serves the model is an error, not a wait.
        r.overrides.avoid_pools = {"p"};
        auto d = index.place(r);
        ASSERT_FALSE(d);
        EXPECT_EQ(d.error(), placement_errc::all_avoided);
    }
}

TEST(placement_index, session_stays_on_its_pool_while_that_pool_can_take_it) {
    placement_index index(with(placement_strategy::round_robin));
    index.upsert_pool("", "a", ready_pool({"tiny"}, 2));
    auto b = index.upsert_pool("", "b", ready_pool({"tiny"}, 2));
    index.upsert_pool("", "c", ready_pool({"tiny"}, 2));
    placement_request r = for_model();
    r.session_pool = b;
    EXPECT_EQ(index.place(r)->pool, b);
    index.on_dispatch(b);
    EXPECT_EQ(index.place(r)->pool, b);
    index.on_dispatch(b);  // full: the session moves
    auto moved = index.place(r);
    ASSERT_TRUE(moved);
    EXPECT_NE(moved->pool, b);
    // A session pool that no longer exists is ignored.
    index.remove_pool(b);
    EXPECT_TRUE(index.place(r));
}

TEST(placement_index, stale_handles_are_ignored_after_removal) {
    placement_index index;
    auto old = index.upsert_pool("", "a", ready_pool());
    index.remove_pool(old);
    auto fresh = index.upsert_pool("", "b", ready_pool({"tiny"}, 1));
    EXPECT_EQ(fresh.index, old.index);  // the slot is reused...
    index.on_dispatch(old);             // ...but the old handle does not touch it
    EXPECT_EQ(index.find(fresh)->in_flight, 0);
    EXPECT_EQ(index.find(old), nullptr);
    EXPECT_FALSE(index.update_pool(old, ready_pool()));
}

TEST(placement_index, upsert_keeps_the_handle_and_in_flight_count_of_a_known_pool) {
    placement_index index;
    auto p = index.upsert_pool("n1", "gpu0", ready_pool());
    index.on_dispatch(p);
    auto again = index.upsert_pool("n1", "gpu0", ready_pool());
    EXPECT_EQ(again, p);
    EXPECT_EQ(index.find(p)->in_flight, 1);
    EXPECT_EQ(index.pool_count(), 1u);
}

TEST(placement_index, a_model_change_moves_the_pool_between_models) {
    placement_index index;
    auto p = index.upsert_pool("", "p", ready_pool({"tiny", "tiny-alias"}));
    EXPECT_TRUE(index.can_serve_now("tiny-alias"));
    index.update_pool(p, ready_pool({"big"}));
    EXPECT_FALSE(index.serves("tiny"));
    EXPECT_FALSE(index.serves("tiny-alias"));
    EXPECT_TRUE(index.can_serve_now("big"));
    EXPECT_EQ(index.place(for_model("tiny")).error(), placement_errc::model_not_available);
}

TEST(placement_index, removing_a_node_removes_its_pools) {
    placement_index index;
    index.upsert_pool("n1", "a", ready_pool());
    index.upsert_pool("n1", "b", ready_pool());
    auto other = index.upsert_pool("n2", "a", ready_pool({"big"}));
    index.remove_node("n1");
    EXPECT_EQ(index.pool_count(), 1u);
    EXPECT_FALSE(index.serves("tiny"));
    EXPECT_NE(index.find(other), nullptr);
    EXPECT_FALSE(index.find("n1/a"));
}

TEST(placement_index, a_model_can_start_while_one_pool_is_neither_down_nor_draining) {
    placement_index index;
    EXPECT_FALSE(index.can_start("tiny"));
    auto starting = ready_pool();
    starting.ready = false;  // provisioning or starting
    auto a = index.upsert_pool("n1", "a", starting);
    auto b = index.upsert_pool("n2", "b", ready_pool());
    EXPECT_TRUE(index.can_start("tiny"));
    auto down = ready_pool();
    down.ready = false;
    down.down = true;
    index.update_pool(b, down);
    EXPECT_TRUE(index.can_start("tiny")) << "pool a is still starting";
    auto draining = ready_pool();
    draining.draining = true;
    index.update_pool(a, draining);
    EXPECT_FALSE(index.can_start("tiny"));
    EXPECT_TRUE(index.serves("tiny"));
    // An offline node's pools may come back with the node: they still count.
    index.update_pool(a, starting);
    index.set_node_available("n1", false);
    EXPECT_TRUE(index.can_start("tiny"));
    // A model change and a removal move the count with the pool.
    index.update_pool(a, ready_pool({"big"}));
    EXPECT_FALSE(index.can_start("tiny"));
    EXPECT_TRUE(index.can_start("big"));
    index.remove_pool(a);
    EXPECT_FALSE(index.can_start("big"));
    index.update_pool(b, ready_pool());
    EXPECT_TRUE(index.can_start("tiny"));
    index.remove_node("n2");
    EXPECT_FALSE(index.can_start("tiny"));
}

TEST(placement_index, removing_pools_keeps_every_other_pool_findable) {
    placement_index index;
    std::map<std::string, pool_ref> refs;
    for (int n = 0; n < 3; ++n)
        for (int p = 0; p < 20; ++p) {
            auto node = numbered("n", n), pool = numbered("p", p);
            refs[node + "/" + pool] = index.upsert_pool(node, pool, ready_pool());
        }
    for (int p = 0; p < 20; p += 3) {
        auto name = "n1/" + numbered("p", p);
        EXPECT_TRUE(index.remove_pool(refs[name]));
        refs.erase(name);
    }
    EXPECT_EQ(index.pool_count(), refs.size());
    for (const auto& [name, ref] : refs) {
        auto found = index.find(name);
        ASSERT_TRUE(found) << name;
        EXPECT_EQ(*found, ref) << name;
        EXPECT_EQ(index.find(ref)->name(), name);
    }
    EXPECT_FALSE(index.find("n1/p3"));
    EXPECT_TRUE(index.find("p3")) << "p3 is still on n0 and n2";
    // A removed pool's id can come back on its node.
    auto back = index.upsert_pool("n1", "p3", ready_pool());
    EXPECT_EQ(*index.find("n1/p3"), back);
    index.remove_node("n0");
    EXPECT_EQ(index.pool_count(), refs.size() + 1 - 20);
    EXPECT_FALSE(index.find("n0/p1"));
    EXPECT_TRUE(index.find("n2/p19"));
}

TEST(placement_index, an_update_equal_to_the_held_state_changes_nothing) {
    placement_index index;
    auto ref = index.upsert_pool("n", "p", ready_pool());
    const auto before = index.updates_applied();
    index.update_pool(ref, ready_pool());
    EXPECT_EQ(index.updates_applied(), before);
    auto busy = ready_pool();
    busy.slots_free = 1;
    index.update_pool(ref, busy);
    EXPECT_EQ(index.updates_applied(), before + 1);
    EXPECT_EQ(index.find(ref)->free_slots(), 1);
}

TEST(placement_index, parses_strategy_names) {
    EXPECT_EQ(parse_strategy("round-robin"), placement_strategy::round_robin);
    EXPECT_EQ(parse_strategy("least-loaded"), placement_strategy::least_loaded);
    EXPECT_EQ(parse_strategy("weighted"), placement_strategy::weighted);
    EXPECT_EQ(parse_strategy("hybrid"), placement_strategy::hybrid);
    EXPECT_EQ(parse_strategy("random"), placement_strategy::random);
    EXPECT_FALSE(parse_strategy("fastest"));
}

}  // namespace
}  // namespace llorch::placement
