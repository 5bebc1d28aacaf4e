#include "pool/pool_manager.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "common/off_thread.h"
#include "http/client.h"
#include "pool/device_memory.h"
#include "pool/handoff_adopter.h"
#include "pool/on_demand.h"
#include "pool/pool_metrics.h"
#include "pool/pool_names.h"
#include "pool/pool_runtime.h"
#include "pool/replica_monitor.h"
#include "pool/replica_stream.h"

namespace llorch::pool {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

asio::awaitable<void> run_pool(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p) {
    auto gone = [&] { return p->stopping || rt->stopping(); };
    rt->set_state(*p, pool_state::provisioning);
    auto plan = co_await rt->provision(p, p->cfg.model);
    if (gone()) co_return;
    if (!plan) {
        rt->set_state(*p, pool_state::failed, plan.error().message);
        co_return;
    }
    rt->set_state(*p, pool_state::starting);
    for (int i = 0; i < (p->runs_engine() ? p->cfg.replicas : 1); ++i) {
        auto r = co_await rt->start_replica(p, i, p->cfg.model, p->generation);
        if (!r) {
            rt->set_state(*p, pool_state::failed, r.error().message);
            co_return;
        }
        p->replicas.push_back(*r);
        if (gone()) {  // stopped while this engine started: the drain missed it
            rt->stop_replica(**r);
            co_return;
        }
    }
    for (auto& r : p->replicas) replica_monitor::start(rt, p, r);
}

struct pool_manager::impl {
    std::shared_ptr<pool_runtime> rt;
    std::shared_ptr<handoff_adopter> adopter;
};

namespace {

api::error no_such_pool(const std::string& id) {
    return api::make_error(api::error_code::not_found, "no pool '" + id + "' on this node");
}

// Refreshes the GPU figures of GPU pools (free VRAM in status and heartbeats) and of the node's
// memory report every gpu_discovery_interval; discovery runs on the blocking pool.
asio::awaitable<void> gpu_refresh_loop(std::shared_ptr<pool_runtime> rt) {
    while (!rt->stopping()) {
        co_await sleep_for(rt->opts().gpu_discovery_interval);
        if (rt->stopping() || !rt->gpus()) co_return;
        auto found = co_await common::off_thread(rt->blocking(), discover_gpus(rt->gpus()));
        if (rt->stopping()) co_return;
        rt->last_discovery = std::move(found);
        for (const auto& [id, p] : rt->table().entries())
            for (auto& g : p->gpus)
                for (const auto& fresh : rt->last_discovery.gpus)
                    if (fresh.index == g.index) g = fresh;
    }
}

// Starts a failed or offline pool again on `model`: what is left of its last run stops, the
// crash history starts over, and run_pool provisions and starts it. A recovery scheduled before
// is void from here on (p->starts).
asio::awaitable<void> restart_pool(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                                   std::string model) {
    ++p->starts;
    co_await rt->stop_replicas(p);
    p->retry_at.reset();  // only now: until here it is still failed, with a retry on its way
    if (rt->stopping()) co_return;
    p->replicas.clear();
    p->policy->reset();
    p->stopping = false;
    p->cfg.model = std::move(model);
    co_await run_pool(rt, p);
}

asio::awaitable<void> recover_pool(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                                   uint64_t starts, std::chrono::milliseconds delay);

// A failed pool tries again by itself after a backoff (common::backoff: full jitter, doubling up
// to the configured cap), for as long as it stays failed.
void schedule_recovery(const std::shared_ptr<pool_runtime>& rt,
                       const std::shared_ptr<pool_entry>& p) {
    // An on-demand pool loads again on the next request for its model instead.
    if (rt->stopping() || p->stopping || p->adopted || p->state != pool_state::failed ||
        p->retry_at || p->cfg.on_demand)
        return;
    common::backoff b(rt->opts().recovery);
    std::mt19937_64 rng(rt->next_seed());
    auto delay = std::max(b.delay(p->recoveries, rng), 1ms);
    ++p->recoveries;
    p->retry_at = steady::now() + delay;
    rt->log().info("pool_id={} failed ({}); trying again in {} ms", p->cfg.id, p->last_error,
                   delay.count());
    rt->background().spawn(recover_pool(rt, p, p->starts, delay), "recovery of pool " + p->cfg.id);
}

asio::awaitable<void> recover_pool(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                                   uint64_t starts, std::chrono::milliseconds delay) {
    co_await sleep_for(delay);
    if (rt->stopping() || p->starts != starts) co_return;  // stopped, or started since
    // Drained meanwhile, or an operator's restart is running (if that fails, it schedules anew).
    if (p->stopping || p->state != pool_state::failed || p->reloading) {
        p->retry_at.reset();
        co_return;
    }
    rt->log().info("pool_id={} starting again after failure (attempt {})", p->cfg.id,
                   p->recoveries);
    co_await restart_pool(rt, p, p->cfg.model);
}

// Waits until the pool is neither provisioning nor starting, or `deadline` passed.
asio::awaitable<void> wait_settled(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                                   steady::time_point deadline) {
    auto changed = std::make_shared<asio::steady_timer>(rt->io());
    p->on_state_change = [w = std::weak_ptr(changed)] {
        if (auto t = w.lock()) t->cancel();
    };
    while ((p->state == pool_state::provisioning || p->state == pool_state::starting) &&
           steady::now() < deadline && !rt->stopping()) {
        changed->expires_at(deadline);
        boost::system::error_code ec;
        co_await changed->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    p->on_state_change = nullptr;
}

// The first step of every reload: marks the pool reloading and checks that it can run
// `new_model`; the refusal (the mark taken off again), or nullopt to go on.
asio::awaitable<std::optional<api::error>> provision_for_reload(std::shared_ptr<pool_runtime> rt,
                                                                std::shared_ptr<pool_entry> p,
                                                                std::string new_model) {
    p->reloading = true;
    auto plan = co_await rt->provision(p, new_model);
    if (plan) co_return std::nullopt;
    p->reloading = false;
    co_return api::make_error(api::error_code::invalid_params,
                              "reload refused: " + plan.error().message);
}

// The reload of a failed or drained pool: it starts again on `new_model`, and the answer waits
// until it is ready, or failed again (it then keeps retrying by itself).
asio::awaitable<api::api_result<pool_snapshot>> restart(std::shared_ptr<pool_runtime> rt,
                                                        std::shared_ptr<pool_entry> p,
                                                        std::string new_model) {
    const std::string id = p->cfg.id;
    if (auto refused = co_await provision_for_reload(rt, p, new_model)) co_return *refused;
    if (p->state != pool_state::failed && p->state != pool_state::offline) {
        p->reloading = false;  // a recovery started it meanwhile
        co_return api::make_error(api::error_code::pool_unready,
                                  "pool '" + id + "' is " + std::string(to_string(p->state)) +
                                      " already; wait until it is ready");
    }
    rt->log().info("pool_id={} restarting on {} ({} before)", id, new_model, to_string(p->state));
    co_await restart_pool(rt, p, new_model);
    co_await wait_settled(rt, p, steady::now() + rt->opts().ready_timeout + 10s);
    p->reloading = false;
    if (p->state == pool_state::ready) {
        ++p->generation;
        co_return snapshot_of(*p);
    }
    auto why = "pool '" + id + "' did not start on " + new_model + ": " +
               (p->state == pool_state::failed ? p->last_error
                                               : "still " + std::string(to_string(p->state)));
    if (p->state == pool_state::failed && !p->retry_at) schedule_recovery(rt, p);
    co_return api::make_error(api::error_code::internal, why);
}

// No new requests; in-flight ones finish up to `deadline`; then the engines stop and the pool
// goes offline once they exited.
asio::awaitable<void> drain_pool(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                                 std::chrono::milliseconds deadline) {
    if (p->state != pool_state::draining) rt->set_state(*p, pool_state::draining);
    p->stopping = true;
    auto end = steady::now() + std::clamp(deadline, 0ms, max_drain_deadline);
    auto freed = std::make_shared<asio::steady_timer>(rt->io());
    p->on_slot_freed = [w = std::weak_ptr(freed)] {
        if (auto t = w.lock()) t->cancel();
    };
    while (p->in_flight() > 0 && steady::now() < end) {
        freed->expires_at(end);
        boost::system::error_code ec;
        co_await freed->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    p->on_slot_freed = nullptr;
    co_await rt->stop_replicas(p);
    rt->set_state(*p, pool_state::offline);
}

// Runs every task and returns when all have ended.
asio::awaitable<void> run_all(asio::io_context& io, std::vector<asio::awaitable<void>> tasks) {
    auto left = std::make_shared<size_t>(tasks.size());
    auto all_done = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    for (auto& t : tasks)
        asio::co_spawn(io, std::move(t), [left, all_done](std::exception_ptr) {
            if (--*left == 0) all_done->cancel();
        });
    while (*left > 0) {
        boost::system::error_code ec;
        co_await all_done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace

pool_manager::pool_manager(asio::io_context& io, manager_options opts,
                           std::vector<pool_config> pools, std::shared_ptr<gpu::gpu_inventory> gpus)
    : pool_manager(io, std::move(opts), std::move(pools), std::move(gpus), nullptr) {}

pool_manager::pool_manager(asio::io_context& io, manager_options opts,
                           std::vector<pool_config> pools, std::shared_ptr<gpu::gpu_inventory> gpus,
                           std::shared_ptr<engine_launcher> launcher)
    : impl_(std::make_shared<impl>()) {
    impl_->rt =
        std::make_shared<pool_runtime>(io, std::move(opts), std::move(gpus), std::move(launcher));
    impl_->adopter = std::make_shared<handoff_adopter>(impl_->rt);
    impl_->rt->on_failed([w = std::weak_ptr(impl_->rt)](const std::string& id) {
        auto rt = w.lock();
        if (!rt) return;
        if (auto p = rt->table().find(id)) schedule_recovery(rt, p);
    });
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (auto& c : pools) {
        auto e = std::make_shared<pool_entry>();
        e->policy = std::make_unique<restart_policy>(impl_->rt->opts().restart, seed++);
        e->cfg = std::move(c);
        impl_->rt->table().insert(std::move(e));
    }
}

pool_manager::~pool_manager() {
    auto& rt = *impl_->rt;
    rt.set_stopping();
    impl_->adopter->stop();
    // Normally stop() has stopped every engine; when it has not, nothing is left to wait.
    for (const auto& [id, p] : rt.table().entries()) {
        for (auto& r : p->replicas) {
            r->stopped = true;
            if (r->engine) r->engine->kill_now();
        }
        rt.remove_own_handoff(*p);
    }
    rt.stop_blocking();
}

void pool_manager::start() {
    auto& rt = impl_->rt;
    std::error_code ec;
    fs::create_directories(rt->opts().runtime_dir, ec);
    bool any_gpu = false;
    bool on_demand = rt->opts().on_demand.serve_catalog;
    for (const auto& [id, p] : rt->table().entries()) {
        any_gpu |= !p->cfg.gpus.empty();
        on_demand |= p->cfg.on_demand;
    }
    // On-demand loads choose among every GPU: the node's memory report follows them all.
    if (any_gpu || on_demand) rt->background().spawn(gpu_refresh_loop(rt), "GPU discovery");
    // A file left by a previous run that was killed names an engine that is gone.
    for (const auto& [id, p] : rt->table().entries()) rt->remove_own_handoff(*p);
    impl_->adopter->start();
    for (const auto& p : rt->table().all()) {
        if (p->cfg.on_demand)
            estimate_ahead(rt, p);
        else
            rt->background().spawn(run_pool(rt, p), "pool " + p->cfg.id);
    }
    if (on_demand) rt->background().spawn(idle_sweep_loop(rt), "idle sweep");
}

asio::awaitable<void> pool_manager::stop(std::chrono::milliseconds deadline) {
    auto rt = impl_->rt;
    rt->set_stopping();
    impl_->adopter->stop();
    // Pools drain side by side; adopted pools may leave the table meanwhile.
    std::vector<asio::awaitable<void>> drains;
    for (const auto& p : rt->table().all()) {
        if (p->state == pool_state::offline || p->state == pool_state::uninitialized) continue;
        if (p->state == pool_state::failed || p->state == pool_state::unloading)
            drains.push_back(rt->stop_replicas(p));
        else
            drains.push_back(drain_pool(rt, p, deadline));
    }
    co_await run_all(rt->io(), std::move(drains));
    // Monitors, adoptions and discovery still waiting end here: no engine is left to watch.
    co_await rt->background().stop();
}

api::api_result<std::unique_ptr<infer_stream>> pool_manager::begin_infer(
    const std::string& pool_id, engines::generation_request g) {
    auto p = impl_->rt->table().find(pool_id);
    if (!p) return no_such_pool(pool_id);
    ++p->infer_total;
    // An on-demand pool that is not loaded starts loading; the caller comes back.
    if (p->cfg.on_demand && !impl_->rt->stopping()) {
        if (p->state == pool_state::offline || p->state == pool_state::uninitialized)
            start_load(impl_->rt, p);
        else if (p->state == pool_state::unloading)
            p->load_after_unload = true;
        p->last_used = steady::now();
        if (p->state != pool_state::ready) p->wanted_at = p->last_used;
    }
    if (p->yielding() && p->state == pool_state::ready) {
        // Swap-aware scheduling: its memory goes to another model's load once the generations
        // in flight end; the caller comes back, and the model loads again after the swap.
        p->wanted_at = steady::now();
        p->load_after_unload = true;
        auto e = api::make_error(api::error_code::pool_unready,
                                 "pool '" + pool_id + "' yields its memory to the load of '" +
                                     p->yielding_to + "' and takes no new request until it " +
                                     "loads again");
        e.retriable = true;
        e.retry_after_ms = 500;
        ++p->infer_rejected;
        return e;
    }
    if (!accepts_requests(p->state)) {
        auto e = api::make_error(api::error_code::pool_unready,
                                 "pool '" + pool_id + "' is " + std::string(to_string(p->state)) +
                                     (p->last_error.empty() ? "" : ": " + p->last_error));
        e.retriable = p->state != pool_state::failed;
        e.retry_after_ms = 1000;
        ++p->infer_rejected;
        return e;
    }
    auto best = p->pick_replica();
    if (!best) {
        auto e = api::make_error(api::error_code::pool_unavailable,
                                 "pool '" + pool_id + "' has no free slot (" +
                                     std::to_string(p->slots_total()) + " busy)");
        e.retriable = true;
        e.retry_after_ms = 200;
        ++p->infer_rejected;
        return e;
    }
    p->last_used = steady::now();
    p->began_at = p->last_used;
    if (g.max_tokens <= 0) g.max_tokens = p->cfg.max_tokens_default;
    g.max_tokens = std::min(g.max_tokens, p->cfg.max_tokens_cap);
    return std::unique_ptr<infer_stream>(
        std::make_unique<replica_stream>(impl_->rt, p, best, std::move(g)));
}

std::optional<pool_manager::request_limits> pool_manager::limits_for(std::string_view model) const {
    return impl_->rt->table().limits_for(model);
}

std::vector<pool_snapshot> pool_manager::list() const { return impl_->rt->table().snapshots(); }

std::vector<device_report> pool_manager::memory() const { return memory_report(*impl_->rt); }

std::optional<pool_snapshot> pool_manager::status(const std::string& id) const {
    auto p = impl_->rt->table().find(id);
    if (!p) return std::nullopt;
    return snapshot_of(*p);
}

bool pool_manager::has_pool(const std::string& id) const {
    return impl_->rt->table().find(id) != nullptr;
}

api::api_result<void> pool_manager::drain(const std::string& id,
                                          std::chrono::milliseconds deadline) {
    auto& rt = impl_->rt;
    auto p = rt->table().find(id);
    if (!p) return no_such_pool(id);
    if (p->state == pool_state::draining || p->state == pool_state::offline) return {};
    rt->background().spawn(drain_pool(rt, p, deadline), "drain of pool " + id);
    return {};
}

asio::awaitable<api::api_result<pool_snapshot>> pool_manager::reload(std::string id,
                                                                     std::string new_model) {
    auto rt = impl_->rt;
    auto p = rt->table().find(id);
    if (!p) co_return no_such_pool(id);
    if (p->reloading)
        co_return api::make_error(api::error_code::conflict,
                                  "a reload of pool '" + id + "' is already running");
    if (!p->runs_engine())
        co_return api::make_error(api::error_code::invalid_params,
                                  "pool '" + id + "' runs outside llama-orch; reload it there");
    if (p->state == pool_state::failed || p->state == pool_state::offline)
        co_return co_await restart(rt, p, std::move(new_model));
    if (p->state != pool_state::ready)
        co_return api::make_error(
            api::error_code::pool_unready,
            "pool '" + id + "' is " + std::string(to_string(p->state)) +
                "; a ready, failed or drained pool can be reloaded: wait until it is one");
    if (auto refused = co_await provision_for_reload(rt, p, new_model)) co_return *refused;
    long long gen = p->generation + 1;
    std::vector<std::shared_ptr<replica>> fresh;
    std::string why;
    for (int i = 0; i < p->cfg.replicas && why.empty(); ++i) {
        auto r = co_await rt->start_replica(p, i, new_model, gen);
        if (!r)
            why = r.error().message;
        else
            fresh.push_back(*r);
    }
    for (auto& r : fresh) {
        if (!why.empty()) break;
        why = co_await replica_monitor::wait_ready(rt, p, r);
    }
    if (why.empty() && (p->stopping || rt->stopping())) why = "the pool is stopping";
    if (!why.empty()) {
        for (auto& r : fresh) rt->stop_replica(*r);
        p->last_error = "reload to " + new_model + " failed: " + why;
        p->reloading = false;
        rt->log().warn("pool_id={} {}", id, p->last_error);
        co_return api::make_error(api::error_code::internal, p->last_error);
    }
    // Switch: new engines take new requests; old ones finish their streams and stop.
    auto old = std::move(p->replicas);
    p->replicas = fresh;
    p->generation = gen;
    p->policy->reset();
    for (auto& r : old) {
        r->retired = true;
        r->ready = false;
        if (r->in_flight == 0) {
            rt->stop_replica(*r);
        } else {
            r->stopped = true;  // its monitor ends; the last stream stops the engine
            if (r->wake) r->wake();
            p->replicas.push_back(r);
        }
    }
    for (auto& r : fresh) {
        r->ready = true;
        replica_monitor::start(rt, p, r);
    }
    rt->write_own_handoff(*p);
    rt->log().info("pool_id={} reloaded to {} (generation {})", id, new_model, gen);
    p->reloading = false;
    rt->notify(id);
    co_return snapshot_of(*p);
}

asio::awaitable<std::optional<int>> pool_manager::count_tokens(std::string pool_id,
                                                               std::string text) {
    auto rt = impl_->rt;
    auto p = rt->table().find(pool_id);
    if (!p || !is_managed(p->cfg.engine) || p->cfg.engine == engine_kind::sim)
        co_return std::nullopt;
    std::shared_ptr<replica> r;
    for (auto& x : p->replicas)
        if (x->ready && !x->retired) r = x;
    if (!r) co_return std::nullopt;
    http::client_request q;
    q.method = "POST";
    q.url = r->base_url + "/tokenize";
    q.body = boost::json::serialize(boost::json::object{{"content", text}, {"add_special", true}});
    q.timeout = 5s;
    if (!r->api_key.empty()) q.headers.add("Authorization", "Bearer " + r->api_key);
    auto res = co_await rt->client().send(std::move(q));
    if (!res || res->status != 200) co_return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(res->body, ec);
    if (ec || !v.is_object()) co_return std::nullopt;
    auto* t = v.get_object().if_contains("tokens");
    if (!t || !t->is_array()) co_return std::nullopt;
    co_return static_cast<int>(t->get_array().size());
}

namespace {
// The on-demand pools answering to `model`.
std::vector<std::shared_ptr<pool_entry>> on_demand_pools(const pool_table& t,
                                                         std::string_view model) {
    std::vector<std::shared_ptr<pool_entry>> out;
    for (const auto& [id, p] : t.entries())
        if (p->cfg.on_demand && answers_to(p->cfg.name, p->cfg.aliases, p->served_model(), model))
            out.push_back(p);
    return out;
}
}  // namespace

std::optional<pool_manager::load_answer> pool_manager::ensure_loaded(
    std::string_view model, std::optional<std::chrono::milliseconds> keep_alive) {
    auto& rt = impl_->rt;
    // A fixed pool serving the model takes the request as it is.
    for (const auto& [id, p] : rt->table().entries())
        if (!p->cfg.on_demand && answers_to(p->cfg.name, p->cfg.aliases, p->served_model(), model))
            return std::nullopt;
    auto pools = on_demand_pools(rt->table(), model);
    if (pools.empty() || rt->stopping()) return std::nullopt;
    for (auto& p : pools) {
        if (keep_alive) p->keep_alive = *keep_alive;
        p->last_used = steady::now();
    }
    // One load serves every request: a pool loaded or loading already answers.
    for (auto& p : pools)
        if (p->state == pool_state::ready || p->state == pool_state::provisioning ||
            p->state == pool_state::starting)
            return load_answer{p->cfg.id, p->state != pool_state::ready};
    auto& p = pools.front();
    if (p->state == pool_state::unloading || p->state == pool_state::draining) {
        p->load_after_unload = true;
        return load_answer{p->cfg.id, true};
    }
    rt->log().info("pool_id={} loading: a request asks for '{}'", p->cfg.id, model);
    start_load(rt, p);
    return load_answer{p->cfg.id, true};
}

void pool_manager::want(std::string_view model) {
    want_loaded(impl_->rt, on_demand_pools(impl_->rt->table(), model), model);
}

void pool_manager::revive(std::string_view model) {
    for (auto& p : on_demand_pools(impl_->rt->table(), model))
        if (p->state == pool_state::failed) impl_->rt->set_state(*p, pool_state::offline);
}

std::string pool_manager::load_failure(std::string_view model) const {
    for (auto& p : on_demand_pools(impl_->rt->table(), model))
        if (p->state == pool_state::failed) return p->last_error;
    return {};
}

api::api_result<std::vector<pool_snapshot>> pool_manager::unload(std::string_view model) {
    auto& rt = impl_->rt;
    auto pools = on_demand_pools(rt->table(), model);
    if (auto p = rt->table().find(model); pools.empty() && p && p->cfg.on_demand)
        pools.push_back(p);  // by pool id
    if (pools.empty())
        return api::make_error(api::error_code::not_found,
                               "no on-demand model '" + std::string(model) + "' on this node");
    std::vector<pool_snapshot> out;
    for (auto& p : pools) {
        p->load_after_unload = false;
        // A busy or loading one goes when its last request ends (keep_alive 0).
        if (!unload_idle(rt, p, "unloaded on request")) p->keep_alive = 0ms;
        out.push_back(snapshot_of(*p));
    }
    return out;
}

void pool_manager::sync_catalog(const std::vector<catalog::catalog_entry>& entries) {
    sync_catalog_pools(impl_->rt, entries);
}

void pool_manager::on_capacity_change(std::function<void(const std::string&)> cb) {
    impl_->rt->on_capacity_change(std::move(cb));
}

void pool_manager::on_probe(std::function<void(const std::string&, bool)> cb) {
    impl_->rt->on_probe(std::move(cb));
}

void pool_manager::add_metrics(common::metrics_registry& registry) const {
    registry.add_collector([this](common::scrape& s) {
        const auto& rt = *impl_->rt;
        report_pool_metrics(s, rt.table(), impl_->adopter->outcomes(), rt.last_discovery,
                            rt.opts().node_id);
    });
}

}  // namespace llorch::pool
