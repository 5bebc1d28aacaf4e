#include "pool/on_demand.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pool/device_memory.h"
#include "pool/residency.h"
#include "pool/vram_estimate.h"

namespace llorch::pool {
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// The instances that hold memory, other than `self`, as residency sees them.
std::vector<resident> residents(pool_runtime& rt, const pool_entry& self) {
    std::vector<resident> out;
    for (const auto& [id, p] : rt.table().entries()) {
        if (p.get() == &self || !holds_memory(p->state)) continue;
        out.push_back({.id = id,
                       .device = p->cfg.device.empty() ? "cpu" : p->cfg.device,
                       .bytes = p->memory_bytes,
                       .busy = p->in_flight() > 0 || p->state == pool_state::unloading ||
                               p->state == pool_state::draining,
                       .loading = p->state == pool_state::provisioning ||
                                  p->state == pool_state::starting || p->reloading,
                       .pinned = !p->cfg.on_demand || p->idle_ttl() < 0ms,
                       .last_used = p->last_used});
    }
    return out;
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
        auto found =
            co_await asio::co_spawn(rt->blocking(), discover_gpus(rt->gpus()), asio::use_awaitable);
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
    auto need = co_await asio::co_spawn(rt->blocking(), estimate_instance_memory(p->cfg),
                                        asio::use_awaitable);
    if (gone()) co_return;
    if (!need) {
        rt->set_state(*p, pool_state::failed, need.error().message);
        co_return;
    }
    p->need_bytes = *need;
    const auto deadline = steady::now() + rt->opts().ready_timeout;
    for (;;) {
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
        // that; the tasks waiting keep their own deadlines.
        co_await sleep_for(100ms);
        if (gone()) co_return;
    }
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

}  // namespace llorch::pool
