// Placement and registry micro-benchmarks (issue 6, scenario 3).
//
// BM_place/<strategy>/<pools>: one placement decision on a cluster of <pools> pools (8 per node,
// 4 slots each, all serving one model: the model's candidate set is the whole cluster, the worst
// case). Every iteration is a realistic cycle: place, on_dispatch on the chosen pool, and
// on_complete of a random task in flight, so free slots keep changing and the index keeps
// re-sorting; half the cluster's slots are busy throughout. The reported time is the whole cycle;
// the counters p50_place_ns / p99_place_ns time the decision alone (steady_clock around place(),
// so they include about 20 ns of clock overhead).
//
// BM_heartbeat/<nodes>: the registry ingesting heartbeats of 8 pools each, round-robin over
// <nodes> nodes, with slots_free changing so every heartbeat updates the index.
//
// node_parse/<pools>: the body of a registration of <pools> pools as the node encodes it, parsed
// as orchestratord's node API does (JSON, then parse_registration).
//
// node_register / node_heartbeat_same / node_heartbeat_one_changed / node_heartbeat_all_changed /
// node_delete, each /<pools>: one node with <pools> pools registering, heartbeating (nothing,
// one pool, or every pool changed since the last), and being deleted, on a control plane that
// already knows 100 nodes of 8 pools. The cost a node's message puts on the control thread.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "placement/load_choice.h"
#include "placement/placement_index.h"
#include "pool/node_report.h"
#include "registry/node_registry.h"

namespace {

// Builds "prefix<n>" by appending (g++ 12 warns falsely on `"literal" + std::string`).
std::string numbered(std::string_view prefix, long n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

using namespace llorch;
using clock_type = std::chrono::steady_clock;

constexpr int pools_per_node = 8;
constexpr int slots_per_pool = 4;

placement::pool_state bench_pool(int slots_free = slots_per_pool) {
    placement::pool_state s;
    s.models = {"llama-3-8b", "/models/llama-3-8b.gguf"};
    s.engine = "llamacpp";
    s.ready = true;
    s.slots_total = slots_per_pool;
    s.slots_free = slots_free;
    s.vram_total_bytes = 80ULL << 30;
    s.vram_free_bytes = 20ULL << 30;
    return s;
}

// `rules`: the hybrid strategy with affinity rules and jobs: every other node's pools are
// labelled `big` (required for the model), every third node's `fast` (preferred), and the tasks
// come in jobs of 8 that spread across nodes.
void place_bench(benchmark::State& state, placement::placement_strategy strategy,
                 bool rules = false) {
    const int pools = static_cast<int>(state.range(0));
    placement::placement_config config;
    config.strategy = strategy;
    config.seed = 1;
    if (rules) {
        config.rules = {{"llama-*", {}, "big", true, 0.0}, {{}, "interactive", "fast", false, 0.5}};
    }
    placement::placement_index index(config);
    for (int p = 0; p < pools; ++p) {
        const int n = p / pools_per_node;
        const std::string node = numbered("node-", n);
        if (p % pools_per_node == 0) index.upsert_node(node, "http://10.0.0.1:9200");
        auto s = bench_pool();
        if (rules && n % 2 == 0) s.labels.push_back("big");
        if (rules && n % 3 == 0) s.labels.push_back("fast");
        index.upsert_pool(node, numbered("gpu", p % pools_per_node), s);
    }
    placement::placement_request request;
    request.model = "llama-3-8b";
    request.priority = "interactive";
    long task_count = 0;
    auto next_job = [&] {
        if (rules) request.job_id = numbered("job-", task_count++ / 8);
    };

    // Fill half of all slots and keep it there (rules: half of the labelled slots).
    std::vector<std::pair<placement::pool_ref, std::string>> in_flight;
    std::mt19937_64 rng(7);
    for (int i = 0; i < pools * slots_per_pool / (rules ? 4 : 2); ++i) {
        next_job();
        auto d = index.place(request);
        if (!d) break;
        index.on_dispatch(d->pool, request.job_id);
        in_flight.emplace_back(d->pool, request.job_id);
    }
    std::vector<uint32_t> samples;
    samples.reserve(1 << 20);
    for (auto _ : state) {
        next_job();
        const auto start = clock_type::now();
        auto decision = index.place(request);
        const auto end = clock_type::now();
        if (samples.size() < samples.capacity()) {
            samples.push_back(static_cast<uint32_t>((end - start).count()));
        }
        if (!decision) {
            state.SkipWithError("no pool could take a task");
            break;
        }
        benchmark::DoNotOptimize(decision->pool.index);
        index.on_dispatch(decision->pool, request.job_id);
        in_flight.emplace_back(decision->pool, request.job_id);
        const size_t k = rng() % in_flight.size();
        std::swap(in_flight[k], in_flight.back());
        index.on_complete(in_flight.back().first, true, 25.0 + static_cast<double>(rng() % 50),
                          in_flight.back().second);
        in_flight.pop_back();
    }
    if (!samples.empty()) {
        std::sort(samples.begin(), samples.end());
        state.counters["p50_place_ns"] = samples[samples.size() / 2];
        state.counters["p99_place_ns"] = samples[samples.size() * 99 / 100];
        state.counters["max_place_ns"] = samples.back();
    }
    state.SetItemsProcessed(state.iterations());
}

void heartbeat_bench(benchmark::State& state) {
    const int nodes = static_cast<int>(state.range(0));
    placement::placement_index index;
    const auto t0 = clock_type::time_point{};
    registry::registry_config config;
    registry::node_registry reg(config, index, t0);
    std::vector<std::string> ids;
    std::vector<std::vector<registry::pool_report>> reports;
    for (int n = 0; n < nodes; ++n) {
        registry::node_registration r;
        r.node_id = numbered("node-", n);
        r.address = numbered("http://10.0.0.", n % 250);
        r.address += ":9200";
        r.version = "0.1.0";
        for (int p = 0; p < pools_per_node; ++p)
            r.pools.push_back({numbered("gpu", p), bench_pool()});
        reports.push_back(r.pools);
        ids.push_back(r.node_id);
        if (!reg.register_node(r, t0)) {
            state.SkipWithError("registration failed");
            return;
        }
    }
    size_t i = 0;
    int64_t tick = 0;
    for (auto _ : state) {
        const size_t n = i++ % ids.size();
        auto pools = reports[n];  // what the HTTP layer would hand over after parsing
        for (auto& p : pools)
            p.state.slots_free = static_cast<int>((tick + n) % (slots_per_pool + 1));
        ++tick;
        auto result = reg.heartbeat(ids[n], std::move(pools), t0 + std::chrono::milliseconds(tick));
        benchmark::DoNotOptimize(result.status);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["pools_per_heartbeat"] = pools_per_node;
}

// One node with `pools` pools, all serving one model.
registry::node_registration big_node(int pools) {
    registry::node_registration r;
    r.node_id = "big";
    r.address = "http://10.0.1.1:9200";
    r.version = "0.1.0";
    r.pools.reserve(static_cast<size_t>(pools));
    for (int p = 0; p < pools; ++p) r.pools.push_back({numbered("pool-", p), bench_pool()});
    return r;
}

// A control plane with 100 other nodes of 8 pools, and (register_big) the big node.
struct node_cluster {
    placement::placement_index index;
    registry::node_registry reg;

    static registry::registry_config config() {
        registry::registry_config c;
        c.max_pools_per_node = 1'000'000;  // the benchmark goes beyond the default cap
        return c;
    }
    node_cluster() : reg(config(), index, clock_type::time_point{}) {
        for (int n = 0; n < 100; ++n) {
            registry::node_registration r;
            r.node_id = numbered("node-", n);
            r.address = "http://10.0.0.1:9200";
            r.version = "0.1.0";
            for (int p = 0; p < pools_per_node; ++p)
                r.pools.push_back({numbered("gpu", p), bench_pool()});
            (void)reg.register_node(std::move(r), clock_type::time_point{});
        }
    }
};

void node_register(benchmark::State& state) {
    const int pools = static_cast<int>(state.range(0));
    const auto node = big_node(pools);
    for (auto _ : state) {
        state.PauseTiming();
        auto c = std::make_unique<node_cluster>();
        auto r = node;
        state.ResumeTiming();
        auto epoch = c->reg.register_node(std::move(r), clock_type::time_point{});
        state.PauseTiming();
        if (!epoch) state.SkipWithError("registration refused");
        c.reset();
        state.ResumeTiming();
    }
    state.counters["pools"] = pools;
}

// changed: how many pools differ from the previous heartbeat (0, 1, or all).
void node_heartbeat(benchmark::State& state, int changed) {
    const int pools = static_cast<int>(state.range(0));
    node_cluster c;
    auto node = big_node(pools);
    auto report = node.pools;
    if (!c.reg.register_node(std::move(node), clock_type::time_point{})) {
        state.SkipWithError("registration refused");
        return;
    }
    int64_t tick = 0;
    for (auto _ : state) {
        state.PauseTiming();
        ++tick;
        const int n = changed < 0 ? pools : changed;
        for (int p = 0; p < n; ++p)
            report[static_cast<size_t>(p)].state.slots_free =
                static_cast<int>(tick % (slots_per_pool + 1));
        auto copy = report;  // what the HTTP layer would hand over after parsing
        state.ResumeTiming();
        auto r = c.reg.heartbeat("big", std::move(copy),
                                 clock_type::time_point{} + std::chrono::milliseconds(tick));
        benchmark::DoNotOptimize(r.status);
    }
    state.counters["pools"] = pools;
}

void node_delete(benchmark::State& state) {
    const int pools = static_cast<int>(state.range(0));
    const auto node = big_node(pools);
    for (auto _ : state) {
        state.PauseTiming();
        auto c = std::make_unique<node_cluster>();
        (void)c->reg.register_node(node, clock_type::time_point{});
        state.ResumeTiming();
        benchmark::DoNotOptimize(c->reg.deregister("big"));
        state.PauseTiming();
        c.reset();
        state.ResumeTiming();
    }
    state.counters["pools"] = pools;
}

void node_parse(benchmark::State& state) {
    const int pools = static_cast<int>(state.range(0));
    pool::node_registration_body b;
    b.node_id = "big";
    b.address = "http://10.0.1.1:9200";
    b.version = "0.1.0";
    for (int p = 0; p < pools; ++p) {
        pool::pool_snapshot s;
        s.id = numbered("pool-", p);
        s.name = "llama-3-8b";
        s.model = "/models/llama-3-8b.gguf";
        s.engine = "llamacpp";
        s.device = "gpu:0";
        s.state = pool::pool_state::ready;
        s.slots_total = slots_per_pool;
        s.slots_free = slots_per_pool;
        b.pools.push_back(pool::report_of(std::move(s)));
    }
    const std::string body = boost::json::serialize(pool::to_json(b));
    for (auto _ : state) {
        auto v = boost::json::parse(body);
        auto parsed = pool::parse_registration(v.as_object());
        if (!parsed) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(parsed);
    }
    state.counters["pools"] = pools;
    state.counters["body_bytes"] = static_cast<double>(body.size());
}

}  // namespace

BENCHMARK_CAPTURE(place_bench, round_robin, placement::placement_strategy::round_robin)
    ->RangeMultiplier(10)
    ->Range(10, 10'000);
BENCHMARK_CAPTURE(place_bench, least_loaded, placement::placement_strategy::least_loaded)
    ->RangeMultiplier(10)
    ->Range(10, 10'000);
BENCHMARK_CAPTURE(place_bench, random, placement::placement_strategy::random)
    ->RangeMultiplier(10)
    ->Range(10, 10'000);
BENCHMARK_CAPTURE(place_bench, weighted, placement::placement_strategy::weighted)
    ->RangeMultiplier(10)
    ->Range(10, 10'000);
BENCHMARK_CAPTURE(place_bench, hybrid, placement::placement_strategy::hybrid)
    ->RangeMultiplier(10)
    ->Range(10, 10'000);
BENCHMARK_CAPTURE(place_bench, hybrid_rules, placement::placement_strategy::hybrid, true)
    ->RangeMultiplier(10)
    ->Range(10, 10'000);
BENCHMARK(heartbeat_bench)->RangeMultiplier(10)->Range(10, 1'000);

// One decision of where an on-demand model loads (placement::choose_load) among `n` sites, in
// the worst case: nothing loaded, nothing loading, every site a candidate in mixed tiers.
void load_choice_bench(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    std::mt19937_64 rng(7);
    std::vector<placement::load_site> sites(n);
    for (size_t i = 0; i < n; ++i) {
        auto& s = sites[i];
        s.node_id = "node-" + std::to_string(i);
        s.pool_id = "model";
        s.need_bytes = 4ull << 30;
        s.total_bytes = 80ull << 30;
        s.free_bytes = (rng() % 8) << 30;
        s.evictable_bytes = (rng() % 8) << 30;
        s.load_time = std::chrono::milliseconds(rng() % 20'000);
    }
    placement::load_demand demand{.waiting = 3};
    for (auto _ : state) {
        auto r = placement::choose_load(demand, sites);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(load_choice_bench)->RangeMultiplier(8)->Range(1, 4'096);

// One node of 1k / 10k / 40k pools: the quadratic paths took seconds here.
static void node_sizes(benchmark::internal::Benchmark* b) {
    b->Arg(1'000)->Arg(10'000)->Arg(40'000)->Unit(benchmark::kMillisecond);
}
BENCHMARK(node_parse)->Apply(node_sizes);
BENCHMARK(node_register)->Apply(node_sizes);
BENCHMARK_CAPTURE(node_heartbeat, same, 0)->Apply(node_sizes);
BENCHMARK_CAPTURE(node_heartbeat, one_changed, 1)->Apply(node_sizes);
BENCHMARK_CAPTURE(node_heartbeat, all_changed, -1)->Apply(node_sizes);
BENCHMARK(node_delete)->Apply(node_sizes);
