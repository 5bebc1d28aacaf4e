// On-demand pools in a pool_manager over the fake engine launcher: no engine until a request
// asks, one load for every request, idle unload, eviction of the least recently used idle pool
// when the CPU memory budget is full, never of a busy or loading one, and a model that can never
// fit failing with the memory it needs. The memory figures are the estimates of a small GGUF file.
#include "model/gguf_writer.h"
#include "pool/vram_estimate.h"
#include "pool_manager_fixture.h"

namespace llorch::pool {
namespace {
using namespace std::chrono_literals;
using testing::pool_manager_test;

class on_demand_test : public pool_manager_test {
  protected:
    void SetUp() override {
        pool_manager_test::SetUp();
        gguf_ = dir_ / "small.gguf";
        model::gguf_writer w;
        using v = model::gguf_value;
        EXPECT_TRUE(w.set("general.architecture", v::str("llama")));
        EXPECT_TRUE(w.set("llama.block_count", v::u32(2)));
        EXPECT_TRUE(w.set("llama.embedding_length", v::u32(64)));
        EXPECT_TRUE(w.set("llama.attention.head_count", v::u32(4)));
        EXPECT_TRUE(w.set("llama.attention.head_count_kv", v::u32(4)));
        EXPECT_TRUE(w.set("llama.context_length", v::u32(4096)));
        EXPECT_TRUE(w.add_tensor("token_embd.weight", {64, 1000}, model::tensor_type::f32));
        EXPECT_TRUE(
            w.write(gguf_, [](const model::gguf_tensor_info& info, model::gguf_data_sink& sink) {
                std::vector<char> zeros(info.n_bytes, 0);
                sink.write(zeros.data(), zeros.size());
            }));
        auto need = estimate_vram(gguf_, 512, 2);
        ASSERT_TRUE(need);
        need_ = need->total();
        opts_.on_demand.sweep_interval = 20ms;
        opts_.on_demand.min_idle = 0ms;
    }
    pool_config lazy(const std::string& id, std::chrono::milliseconds ttl = 1h) {
        auto c = pool(id, 2);
        c.model = gguf_.string();
        c.on_demand = true;
        c.idle_ttl = ttl;
        return c;
    }
    bool load(const std::string& id) {
        auto a = manager_->ensure_loaded(id, std::nullopt);
        return a && wait_state(id, pool_state::ready);
    }
    size_t running_engines() const {
        size_t n = 0;
        for (const auto& e : launcher_->engines) n += e->exited() ? 0 : 1;
        return n;
    }

    std::filesystem::path gguf_;
    uint64_t need_ = 0;
};

TEST_F(on_demand_test, no_engine_starts_until_a_request_and_one_load_serves_every_request) {
    auto& m = start({lazy("a")});
    run_for(100ms);
    EXPECT_EQ(launcher_->engines.size(), 0u);
    EXPECT_EQ(state("a"), "uninitialized");
    auto first = m.ensure_loaded("a", std::nullopt);
    auto second = m.ensure_loaded("a", std::nullopt);
    ASSERT_TRUE(first && second);
    EXPECT_TRUE(first->loading);
    EXPECT_TRUE(second->loading);
    EXPECT_EQ(first->pool_id, "a");
    ASSERT_TRUE(wait_state("a", pool_state::ready)) << state("a");
    EXPECT_EQ(launcher_->engines.size(), 1u);
    auto third = m.ensure_loaded("a", std::nullopt);
    ASSERT_TRUE(third);
    EXPECT_FALSE(third->loading);
    EXPECT_EQ(m.status("a")->memory_bytes, need_);
    // Fixed pools and unknown models are not on demand.
    EXPECT_FALSE(m.ensure_loaded("nosuch", std::nullopt));
}

TEST_F(on_demand_test, an_idle_pool_unloads_after_its_ttl_and_keep_alive_replaces_it) {
    auto& m = start({lazy("a", 150ms), lazy("b", 150ms)});
    ASSERT_TRUE(load("a"));
    ASSERT_TRUE(m.ensure_loaded("b", -1ms));  // keep_alive < 0: never unloaded
    ASSERT_TRUE(wait_state("b", pool_state::ready));
    auto engine = launcher_->engines.front();
    ASSERT_TRUE(wait_state("a", pool_state::offline, 3s)) << state("a");
    EXPECT_TRUE(engine->exited());
    EXPECT_EQ(m.status("a")->pids.size(), 0u);
    run_for(300ms);
    EXPECT_EQ(state("b"), "ready");
    // The next request loads it again.
    ASSERT_TRUE(load("a"));
    EXPECT_EQ(launcher_->engines.size(), 3u);
}

TEST_F(on_demand_test, keep_alive_zero_unloads_when_the_request_ends_never_during_it) {
    auto& m = start({lazy("a")});
    ASSERT_TRUE(load("a"));
    ASSERT_TRUE(m.ensure_loaded("a", 0ms));
    auto s = m.begin_infer("a", gen());
    ASSERT_TRUE(s);
    run_for(200ms);
    EXPECT_EQ(state("a"), "ready");  // busy: the sweep leaves it
    s->reset();
    ASSERT_TRUE(wait_state("a", pool_state::offline)) << state("a");
    EXPECT_EQ(running_engines(), 0u);
}

TEST_F(on_demand_test, a_full_budget_evicts_the_least_recently_used_idle_pool) {
    opts_.on_demand.memory_budget_bytes = need_ * 2 + need_ / 2;  // two fit, not three
    auto& m = start({lazy("a"), lazy("b"), lazy("c")});
    ASSERT_TRUE(load("a"));
    ASSERT_TRUE(load("b"));
    {
        auto s = m.begin_infer("a", gen());  // a used last: b is the least recently used
        ASSERT_TRUE(s);
    }
    ASSERT_TRUE(load("c"));
    EXPECT_EQ(state("a"), "ready");
    EXPECT_EQ(state("b"), "offline");
    EXPECT_EQ(running_engines(), 2u);
}

TEST_F(on_demand_test, a_busy_or_loading_pool_is_never_evicted_the_load_waits) {
    opts_.on_demand.memory_budget_bytes = need_ + need_ / 2;  // one fits
    auto& m = start({lazy("a"), lazy("b")});
    ASSERT_TRUE(load("a"));
    auto busy = m.begin_infer("a", gen());
    ASSERT_TRUE(busy);
    auto b = m.ensure_loaded("b", std::nullopt);
    ASSERT_TRUE(b && b->loading);
    run_for(400ms);
    EXPECT_EQ(state("a"), "ready");
    EXPECT_EQ(state("b"), "provisioning");  // waits for memory
    // b loading holds its place too: a new request for a cannot evict it, nor can b evict a.
    EXPECT_EQ(running_engines(), 1u);
    busy->reset();
    ASSERT_TRUE(wait_state("b", pool_state::ready)) << state("b");
    EXPECT_EQ(state("a"), "offline");
}

TEST_F(on_demand_test, a_model_larger_than_the_budget_fails_naming_the_memory_it_needs) {
    opts_.on_demand.memory_budget_bytes = need_ / 2;
    auto& m = start({lazy("a")});
    ASSERT_TRUE(m.ensure_loaded("a", std::nullopt));
    ASSERT_TRUE(wait_state("a", pool_state::failed)) << state("a");
    auto why = m.load_failure("a");
    EXPECT_NE(why.find("not enough memory"), std::string::npos) << why;
    EXPECT_NE(why.find("MiB"), std::string::npos) << why;
    EXPECT_EQ(launcher_->engines.size(), 0u);
    // A new request may try again: revive makes it unloaded, not failed.
    m.revive("a");
    EXPECT_EQ(state("a"), "offline");
}

TEST_F(on_demand_test, unload_on_request_stops_an_idle_pool_and_a_busy_one_after_its_request) {
    auto& m = start({lazy("a")});
    ASSERT_TRUE(load("a"));
    auto s = m.begin_infer("a", gen());
    ASSERT_TRUE(s);
    ASSERT_TRUE(m.unload("a"));
    run_for(100ms);
    EXPECT_EQ(state("a"), "ready");
    s->reset();
    ASSERT_TRUE(wait_state("a", pool_state::offline));
    EXPECT_FALSE(m.unload("nosuch"));
}

TEST_F(on_demand_test,
       a_busy_pool_yields_to_a_waiting_load_after_swap_wait_never_cutting_a_request) {
    opts_.on_demand.memory_budget_bytes = need_ + need_ / 2;  // one fits
    opts_.on_demand.swap_wait = 600ms;
    auto& m = start({lazy("a"), lazy("b")});
    ASSERT_TRUE(load("a"));
    auto first = m.begin_infer("a", gen());
    ASSERT_TRUE(first);
    ASSERT_TRUE(m.ensure_loaded("b", std::nullopt));
    m.want("b");  // its request waits in the queue
    run_for(200ms);
    // Within swap_wait a keeps taking requests while b waits.
    EXPECT_EQ(state("b"), "provisioning");
    auto second = m.begin_infer("a", gen());
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(m.status("a")->slots_free, 0);
    first->reset();
    // Then it takes none: it yields, its request in flight goes on.
    ASSERT_TRUE(run_until([&] { return !m.begin_infer("a", gen()); }, 3s));
    auto refused = m.begin_infer("a", gen());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, api::error_code::pool_unready);
    EXPECT_TRUE(refused.error().retriable);
    EXPECT_NE(refused.error().message.find("yields"), std::string::npos);
    EXPECT_EQ(m.status("a")->slots_free, 0);  // placement sees no free slot
    run_for(300ms);
    EXPECT_EQ(state("a"), "ready");  // never unloaded under a request
    EXPECT_EQ(state("b"), "provisioning");
    EXPECT_EQ(running_engines(), 1u);
    second->reset();
    ASSERT_TRUE(wait_state("b", pool_state::ready)) << state("b");
    // The refused request comes back for a: it loads again once b has loaded (b idle, evicted).
    ASSERT_TRUE(wait_state("a", pool_state::ready)) << state("a");
}

TEST_F(on_demand_test, a_swapped_in_model_serves_swap_wait_before_it_yields_back) {
    opts_.on_demand.memory_budget_bytes = need_ + need_ / 2;
    opts_.on_demand.swap_wait = 500ms;
    auto& m = start({lazy("a"), lazy("b")});
    ASSERT_TRUE(load("a"));
    auto on_a = m.begin_infer("a", gen());
    ASSERT_TRUE(on_a);
    ASSERT_TRUE(m.ensure_loaded("b", std::nullopt));
    m.want("b");
    ASSERT_TRUE(run_until([&] { return !m.begin_infer("a", gen()); }, 3s));
    m.want("a");  // a request for a waits: a loads again after the swap
    on_a->reset();
    ASSERT_TRUE(wait_state("b", pool_state::ready)) << state("b");
    const auto b_ready = std::chrono::steady_clock::now();
    auto on_b = m.begin_infer("b", gen());
    ASSERT_TRUE(on_b);
    EXPECT_EQ(state("a"), "provisioning");  // waits for b's memory
    // b keeps taking requests for swap_wait from when it became ready, then yields.
    ASSERT_TRUE(run_until([&] { return !m.begin_infer("b", gen()); }, 3s));
    EXPECT_GE(std::chrono::steady_clock::now() - b_ready, 450ms);
    on_b->reset();
    ASSERT_TRUE(wait_state("a", pool_state::ready)) << state("a");
    // b left; the request it refused while yielding loads it again, behind a's swap_wait.
    EXPECT_EQ(state("b"), "provisioning");
}

TEST_F(on_demand_test, want_loads_an_unloaded_model_whose_requests_wait) {
    auto& m = start({lazy("a")});
    run_for(50ms);
    m.want("a");
    ASSERT_TRUE(wait_state("a", pool_state::ready)) << state("a");
    ASSERT_TRUE(m.unload("a"));
    ASSERT_TRUE(wait_state("a", pool_state::offline)) << state("a");
    m.want("a");
    ASSERT_TRUE(wait_state("a", pool_state::ready)) << state("a");
    m.want("nosuch");  // no on-demand pool: nothing
}

TEST_F(on_demand_test, a_load_evicts_the_idle_model_nobody_waits_for_before_a_wanted_one) {
    opts_.on_demand.memory_budget_bytes = need_ * 2 + need_ / 2;  // two fit, not three
    auto& m = start({lazy("a"), lazy("b"), lazy("c")});
    ASSERT_TRUE(load("a"));
    ASSERT_TRUE(load("b"));
    { auto s = m.begin_infer("b", gen()); }  // b used last: a is the least recently used
    m.want("a");                             // yet requests wait for a
    ASSERT_TRUE(load("c"));
    EXPECT_EQ(state("a"), "ready");
    EXPECT_EQ(state("b"), "offline");
}

}  // namespace
}  // namespace llorch::pool
