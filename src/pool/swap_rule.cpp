#include "pool/swap_rule.h"

#include <algorithm>
#include <tuple>

namespace llorch::pool {

swap_clock::time_point yield_time(const resident& holder, swap_clock::time_point waiting_since,
                                  std::chrono::milliseconds swap_wait) {
    return std::max(waiting_since, holder.ready_since) + swap_wait;
}

yield_plan plan_yield(uint64_t need, const device_memory& dev, const std::vector<resident>& on,
                      swap_clock::time_point waiting_since, std::chrono::milliseconds swap_wait,
                      swap_clock::time_point now) {
    yield_plan plan{.device = dev.device, .yield = {}, .decide_at = swap_clock::time_point::max()};
    if (need > dev.total_bytes) return plan;
    // What is free or will be without asking anyone: free memory, idle instances (residency
    // evicts them), instances already yielding (their generations end, then they go).
    uint64_t freed = dev.free_bytes;
    std::vector<const resident*> holders;
    for (const auto& r : on) {
        if (r.device != dev.device || r.loading || r.pinned) continue;
        if (!r.busy || r.yielding)
            freed += r.bytes;
        else
            holders.push_back(&r);
    }
    if (freed >= need) {
        plan.decide_at = now;  // nothing more to ask: the load waits for those to leave
        return plan;
    }
    std::vector<std::pair<swap_clock::time_point, const resident*>> order;
    order.reserve(holders.size());
    for (const auto* r : holders) order.emplace_back(yield_time(*r, waiting_since, swap_wait), r);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first, a.second->last_used) < std::tie(b.first, b.second->last_used);
    });
    std::vector<std::string> chosen;
    swap_clock::time_point latest = swap_clock::time_point::min();
    for (const auto& [at, r] : order) {
        if (freed >= need) break;
        chosen.push_back(r->id);
        freed += r->bytes;
        latest = std::max(latest, at);
    }
    if (freed < need) return plan;  // loading or pinned instances hold the rest
    plan.decide_at = latest;
    if (latest <= now) plan.yield = std::move(chosen);
    return plan;
}

yield_plan choose_yield(uint64_t need, const std::vector<device_memory>& devices,
                        const std::vector<resident>& residents,
                        swap_clock::time_point waiting_since, std::chrono::milliseconds swap_wait,
                        swap_clock::time_point now) {
    yield_plan best;
    for (const auto& d : devices) {
        auto p = plan_yield(need, d, residents, waiting_since, swap_wait, now);
        if (p.decide_at < best.decide_at) best = std::move(p);
    }
    return best;
}

}  // namespace llorch::pool
