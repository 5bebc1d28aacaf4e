#include "pool/on_demand.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/off_thread.h"
#include "pool/device_memory.h"
#include "pool/pool_names.h"
#include "pool/residency.h"
#include "pool/swap_rule.h"
#include "pool/vram_estimate.h"

namespace llorch::pool {
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// How long after a request for a model last waited (the HOME dispatcher says so at every pass
// while one is queued; pool-managerd's callers come back after a refusal) its instance counts
// as wanted, unless a generation began on it since.
constexpr auto wanted_for = 2s;

// The instances that hold memory, other than `self`, as residency sees them.
std::vector<resident> residents(pool_runtime& rt, const pool_entry& self) {
    std::vector<resident> out;
    const auto now = steady::now();
    for (const auto& [id, p] : rt.table().entries()) {
        if (p.get() == &self || !holds_memory(p->state)) continue;
        const bool leaving = p->state == pool_state::unloading || p->state == pool_state::draining;
        const bool wanted = now < p->wanted_at + wanted_for && p->wanted_at >= p->began_at;
        // A model just loaded for requests that wait serves them: for swap_wait from becoming
        // ready it counts as in use, so that another load cannot evict it before they start.
        const bool fresh = wanted && p->state == pool_state::ready &&
                           now < p->ready_since + rt.opts().on_demand.swap_wait;
        out.push_back({.id = id,
                       .device = p->cfg.device.empty() ? "cpu" : p->cfg.device,
                       .bytes = p->memory_bytes,
                       .busy = p->in_flight() > 0 || leaving || fresh,
                       .loading = p->state == pool_state::provisioning ||
                                  p->state == pool_state::starting || p->reloading,
                       .pinned = !p->cfg.on_demand || p->idle_ttl() < 0ms,
                       .wanted = wanted,
                       .yielding = p->yielding() || leaving,
                       .last_used = p->last_used,
                       .ready_since = p->ready_since});
    }
    return out;
}

// The pools that yield to the load of `id` take requests again (its load went ahead, failed or
// stopped); a pool left loaded has no load to run after an unload.
void release_yields(pool_runtime& rt, const std::string& id) {
    for (const auto& q : rt.table().all()) {
        if (q->yielding_to != id) continue;
        q->yielding_to.clear();
        q->load_after_unload = false;
        if (!rt.stopping()) rt.notify(q->cfg.id);
    }
}

// Ends a load's wait for memory however the load ends.
struct wait_scope {
    std::shared_ptr<pool_runtime> rt;
    std::shared_ptr<pool_entry> p;
    uint64_t starts = 0;  // a later load of the pool has a wait of its own
    ~wait_scope() { end(); }
    void end() {
        if (!p || p->starts != starts) return;
        p->waiting_since.reset();
        release_yields(*rt, p->cfg.id);
        p.reset();
    }
};

// Swap-aware scheduling: the load of `p` waits for memory that busy instances hold; those whose
// time is up (swap_rule) stop taking new requests, so that they go once their generations end.
void ask_to_yield(pool_runtime& rt, pool_entry& p, uint64_t need,
                  const std::vector<device_memory>& devices) {
    const auto now = steady::now();
    if (!p.waiting_since) p.waiting_since = now;
    auto plan = choose_yield(need, devices, residents(rt, p), *p.waiting_since,
                             rt.opts().on_demand.swap_wait, now);
    for (const auto& id : plan.yield) {
        auto q = rt.table().find(id);
        if (!q || q->yielding()) continue;
        q->yielding_to = p.cfg.id;
        rt.log().info(
            "pool_id={} yields to the load of '{}' after {} ms: no new request, {} in "
            "flight finish first",
            id, p.cfg.id,
            std::chrono::duration_cast<std::chrono::milliseconds>(now - *p.waiting_since).count(),
            q->in_flight());
        rt.notify(id);
    }
}

// After yielding its memory to another load, a pool loads again only once that load took its
// memory, so that the two do not race for it.
bool behind_the_load_it_yielded_to(pool_runtime& rt, pool_entry& p) {
    if (p.yielded_to.empty()) return false;
    auto to = rt.table().find(p.yielded_to);
    if (to && to->state == pool_state::provisioning && to->memory_bytes == 0 && to->waiting_since)
        return true;
    p.yielded_to.clear();
    return false;
}

// The devices the pool may load on, with their memory now: its configured device, or (device
// chosen per load) every GPU found, else the CPU. GPU figures come from a discovery made now,
// less what instances still loading there will take; the CPU's from the budget, less what its
// instances are estimated to hold.
asio::awaitable<std::vector<device_memory>> devices_now(std::shared_ptr<pool_runtime> rt,
                                                        std::shared_ptr<pool_entry> p) {
    std::vector<device_memory> out;
    const bool cpu_only = p->cfg.device == "cpu" || p->cfg.engine == engine_kind::sim;
    if (!cpu_only && rt->gpus()) {
        auto found = co_await common::off_thread(rt->blocking(), discover_gpus(rt->gpus()));
        rt->last_discovery = found;
        auto wanted =
            p->cfg.device.empty() ? std::optional<std::vector<int>>{} : parse_device(p->cfg.device);
        for (const auto& g : found.gpus) {
            const auto name = "gpu:" + std::to_string(g.index);
            if (wanted && (wanted->size() != 1 || (*wanted)[0] != g.index)) continue;
            uint64_t pending = 0;
            for (const auto& [id, q] : rt->table().entries())
                if (q != p && q->cfg.device == name &&
                    (q->state == pool_state::provisioning || q->state == pool_state::starting))
                    pending += q->memory_bytes;
            out.push_back({name, g.memory_free_bytes > pending ? g.memory_free_bytes - pending : 0,
                           g.memory_total_bytes});
        }
        if (!out.empty() || !p->cfg.device.empty()) co_return out;
    }
    const uint64_t total = cpu_memory_total(*rt);
    const uint64_t held = cpu_memory_held(*rt, p.get());
    out.push_back({"cpu", total > held ? total - held : 0, total});
    co_return out;
}

// Waits until an unload finished, or at most `most`.
asio::awaitable<void> wait_unloaded(std::shared_ptr<pool_runtime> rt,
                                    std::shared_ptr<pool_entry> victim,
                                    std::chrono::milliseconds most) {
    auto end = steady::now() + most;
    while (victim->state == pool_state::unloading && steady::now() < end && !rt->stopping())
        co_await sleep_for(20ms);
}

asio::awaitable<void> unload(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p) {
    if (p->yielding()) p->yielded_to = std::exchange(p->yielding_to, {});
    p->stopping = true;
    co_await rt->stop_replicas(p);
    p->replicas.clear();
    p->stopping = false;
    p->memory_bytes = 0;
    p->keep_alive.reset();
    if (p->state != pool_state::unloading) co_return;  // the daemon stops: its drain took over
    rt->set_state(*p, pool_state::offline);
    if (p->load_after_unload && !rt->stopping()) {
        p->load_after_unload = false;
        start_load(rt, p);
    }
}

// The load itself: the estimate, the device and what leaves it, then run_pool.
asio::awaitable<void> load(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                           uint64_t starts) {
    auto gone = [&] { return rt->stopping() || p->stopping || p->starts != starts; };
    const std::string name = p->cfg.name;
    auto need = co_await common::off_thread(rt->blocking(), estimate_instance_memory(p->cfg));
    if (gone()) co_return;
    if (!need) {
        rt->set_state(*p, pool_state::failed, need.error().message);
        co_return;
    }
    p->need_bytes = *need;
    const auto deadline = steady::now() + rt->opts().ready_timeout;
    wait_scope waiting{rt, p, starts};
    for (;;) {
        if (behind_the_load_it_yielded_to(*rt, *p) && steady::now() < deadline) {
            co_await sleep_for(50ms);
            if (gone()) co_return;
            continue;
        }
        auto devices = co_await devices_now(rt, p);
        if (gone()) co_return;
        if (devices.empty() && !p->cfg.device.empty()) {
            // Several GPUs, or none found for the device named: provisioning decides.
            p->memory_bytes = *need;
            break;
        }
        auto plan = choose_device(*need, devices, residents(*rt, *p));
        if (plan && plan->evict.empty()) {
            if (p->cfg.device.empty() || p->from_catalog) {
                p->cfg.device = plan->device;
                p->cfg.gpus = parse_device(plan->device).value_or(std::vector<int>{});
            }
            p->memory_bytes = *need;
            break;
        }
        if (plan) {
            for (const auto& id : plan->evict) {
                auto victim = rt->table().find(id);
                if (victim && unload_idle(rt, victim, "evicted to load '" + name + "'"))
                    co_await wait_unloaded(rt, victim, engine_stop_grace * 3);
            }
            continue;
        }
        if (plan.error().code == residency_errc::never_fits || steady::now() >= deadline) {
            rt->set_state(*p, pool_state::failed, "not enough memory: " + plan.error().message);
            co_return;
        }
        // Busy or loading instances hold the memory: a slot freeing or an unload may change
        // that, and busy ones yield once swap_wait is up; the tasks waiting keep their own
        // deadlines.
        ask_to_yield(*rt, *p, *need, devices);
        co_await sleep_for(100ms);
        if (gone()) co_return;
    }
    waiting.end();
    rt->log().info("pool_id={} loading {} on {} ({} MiB estimated)", p->cfg.id, p->cfg.model,
                   p->cfg.device, p->memory_bytes >> 20);
    co_await run_pool(rt, p);
}

}  // namespace

void start_load(const std::shared_ptr<pool_runtime>& rt, const std::shared_ptr<pool_entry>& p) {
    ++p->starts;
    p->retry_at.reset();
    p->policy->reset();
    p->replicas.clear();
    p->stopping = false;
    p->last_used = steady::now();
    p->load_started = p->last_used;
    p->waiting_since.reset();
    if (p->from_catalog) {
        p->cfg.device.clear();
        p->cfg.gpus.clear();
    }
    rt->set_state(*p, pool_state::provisioning);
    rt->background().spawn(load(rt, p, p->starts), "load of pool " + p->cfg.id);
}

bool unload_idle(const std::shared_ptr<pool_runtime>& rt, const std::shared_ptr<pool_entry>& p,
                 const std::string& why) {
    if (!p->cfg.on_demand || p->state != pool_state::ready || p->in_flight() > 0 || p->reloading ||
        rt->stopping())
        return false;
    rt->set_state(*p, pool_state::unloading, why);
    rt->log().info("pool_id={} unloading: {}", p->cfg.id, why);
    rt->background().spawn(unload(rt, p), "unload of pool " + p->cfg.id);
    return true;
}

void want_loaded(const std::shared_ptr<pool_runtime>& rt,
                 const std::vector<std::shared_ptr<pool_entry>>& pools, std::string_view model) {
    if (pools.empty() || rt->stopping()) return;
    const auto now = steady::now();
    for (const auto& p : pools) {
        p->wanted_at = now;
        if (p->yielding()) p->load_after_unload = true;
    }
    for (const auto& p : pools)
        if (p->state == pool_state::ready || p->state == pool_state::provisioning ||
            p->state == pool_state::starting)
            return;
    const auto& p = pools.front();
    if (p->state == pool_state::unloading || p->state == pool_state::draining) {
        p->load_after_unload = true;
    } else if (p->state == pool_state::offline || p->state == pool_state::uninitialized) {
        rt->log().info("pool_id={} loading: requests for '{}' wait", p->cfg.id, model);
        start_load(rt, p);
    }
}

asio::awaitable<void> idle_sweep_loop(std::shared_ptr<pool_runtime> rt) {
    const auto& o = rt->opts().on_demand;
    while (!rt->stopping()) {
        co_await sleep_for(o.sweep_interval);
        if (rt->stopping()) co_return;
        const auto now = steady::now();
        for (const auto& p : rt->table().all()) {
            if (!p->cfg.on_demand || p->state != pool_state::ready || p->in_flight() > 0) continue;
            const auto ttl = p->idle_ttl();
            if (ttl < 0ms || now < p->last_used + std::max(ttl, o.min_idle)) continue;
            unload_idle(rt, p, "idle for " + std::to_string(ttl.count()) + " ms (its idle TTL)");
        }
    }
}

pool_config catalog_pool_config(const catalog::catalog_entry& e, const on_demand_options& o) {
    pool_config c;
    c.id = e.name.display();
    std::replace(c.id.begin(), c.id.end(), ':', '-');
    c.engine = engine_kind::llamacpp;
    c.model = e.path;
    c.name = e.name.display();
    if (e.name.tag == catalog::default_tag) c.aliases = {e.name.full()};
    c.slots = o.slots;
    c.ctx = o.ctx;
    if (e.summary.context_length >= 64 && e.summary.context_length < static_cast<uint64_t>(c.ctx))
        c.ctx = static_cast<int>(e.summary.context_length);
    c.max_tokens_cap = std::min(c.max_tokens_cap, c.ctx);
    c.max_tokens_default = std::min(c.max_tokens_default, c.max_tokens_cap);
    c.on_demand = true;
    c.idle_ttl = o.idle_ttl;
    return c;
}

void sync_catalog_pools(const std::shared_ptr<pool_runtime>& rt,
                        const std::vector<catalog::catalog_entry>& entries) {
    const auto& o = rt->opts().on_demand;
    if (!o.serve_catalog || rt->stopping()) return;
    for (const auto& e : entries) {
        bool served = false;
        for (const auto& [id, p] : rt->table().entries())
            served |= p->cfg.model == e.path ||
                      answers_to(p->cfg.name, p->cfg.aliases, p->served_model(), e.name.display());
        auto cfg = catalog_pool_config(e, o);
        if (served || rt->table().find(cfg.id)) continue;
        auto p = std::make_shared<pool_entry>();
        p->policy = std::make_unique<restart_policy>(rt->opts().restart, rt->next_seed());
        p->cfg = std::move(cfg);
        p->from_catalog = true;
        const auto id = p->cfg.id;
        estimate_ahead(rt, p);
        rt->table().insert(std::move(p));
        rt->log().info("pool_id={} serves catalog model {} on demand", id, e.name.display());
        rt->notify(id);
    }
    for (const auto& p : rt->table().all()) {
        if (!p->from_catalog) continue;
        bool kept = std::any_of(entries.begin(), entries.end(),
                                [&](const auto& e) { return e.path == p->cfg.model; });
        if (kept || (p->state != pool_state::offline && p->state != pool_state::uninitialized &&
                     p->state != pool_state::failed))
            continue;
        const auto id = p->cfg.id;
        rt->table().erase(id);
        rt->log().info("pool_id={} left: its model left the catalog", id);
        rt->notify(id);
    }
}

}  // namespace llorch::pool
