#include "pool/device_memory.h"

#include <unistd.h>

#include <algorithm>

#include "common/off_thread.h"
#include "pool/pool_runtime.h"
#include "pool/vram_estimate.h"

namespace llorch::pool {
using namespace std::chrono_literals;

bool holds_memory(pool_state s) {
    return s == pool_state::provisioning || s == pool_state::starting || s == pool_state::ready ||
           s == pool_state::unloading || s == pool_state::draining;
}

uint64_t cpu_memory_total(const pool_runtime& rt) {
    if (auto budget = rt.opts().on_demand.memory_budget_bytes) return budget;
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

uint64_t cpu_memory_held(const pool_runtime& rt, const pool_entry* self) {
    uint64_t held = 0;
    for (const auto& [id, q] : rt.table().entries())
        if (q.get() != self && holds_memory(q->state) &&
            (q->cfg.device.empty() || q->cfg.device == "cpu"))
            held += q->memory_bytes;
    return held;
}

bool evictable(const pool_entry& p) {
    return p.cfg.on_demand && p.idle_ttl() >= 0ms && p.state == pool_state::ready &&
           p.in_flight() == 0 && !p.reloading;
}

asio::awaitable<pool_result<uint64_t>> estimate_instance_memory(pool_config cfg) {
    if (cfg.engine == engine_kind::sim)
        co_return (cfg.memory_mib << 20) * static_cast<uint64_t>(std::max(1, cfg.replicas));
    if (cfg.engine != engine_kind::llamacpp && cfg.model.empty()) co_return uint64_t{0};
    const int per_replica = std::max(1, cfg.slots / std::max(1, cfg.replicas));
    auto need =
        estimate_vram(cfg.model, cfg.ctx, per_replica, vram_options{.embeddings = cfg.embeddings});
    if (!need) co_return need.error();
    co_return need->total() * static_cast<uint64_t>(std::max(1, cfg.replicas));
}

namespace {

asio::awaitable<void> estimate_into(std::shared_ptr<pool_runtime> rt,
                                    std::shared_ptr<pool_entry> p) {
    auto need = co_await common::off_thread(rt->blocking(), estimate_instance_memory(p->cfg));
    if (need && p->need_bytes == 0) p->need_bytes = *need;
}

}  // namespace

void estimate_ahead(const std::shared_ptr<pool_runtime>& rt, const std::shared_ptr<pool_entry>& p) {
    rt->background().spawn(estimate_into(rt, p), "memory estimate of pool " + p->cfg.id);
}

std::vector<device_report> memory_report(const pool_runtime& rt) {
    std::vector<device_report> out;
    for (const auto& g : rt.last_discovery.gpus) {
        device_report d{.device = "gpu:" + std::to_string(g.index),
                        .free_bytes = g.memory_free_bytes,
                        .total_bytes = g.memory_total_bytes};
        for (const auto& [id, p] : rt.table().entries()) {
            if (p->cfg.device != d.device) continue;
            // Loading instances have not taken their memory yet.
            if (p->state == pool_state::provisioning || p->state == pool_state::starting)
                d.free_bytes -= std::min(d.free_bytes, p->memory_bytes);
            if (evictable(*p)) d.evictable_bytes += p->memory_bytes;
        }
        out.push_back(std::move(d));
    }
    if (!out.empty()) return out;
    device_report cpu{.device = "cpu", .total_bytes = cpu_memory_total(rt)};
    const auto held = cpu_memory_held(rt, nullptr);
    cpu.free_bytes = cpu.total_bytes > held ? cpu.total_bytes - held : 0;
    for (const auto& [id, p] : rt.table().entries())
        if ((p->cfg.device.empty() || p->cfg.device == "cpu") && evictable(*p))
            cpu.evictable_bytes += p->memory_bytes;
    out.push_back(std::move(cpu));
    return out;
}

}  // namespace llorch::pool
