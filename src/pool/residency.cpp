#include "pool/residency.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include <fmt/format.h>

namespace llorch::pool {
namespace {

std::string mib(uint64_t bytes) { return fmt::format("{} MiB", (bytes + (1u << 20) - 1) >> 20); }

bool evictable(const resident& r) { return !r.busy && !r.loading && !r.pinned; }

}  // namespace

residency_result<load_plan> plan_load(uint64_t need, const device_memory& dev,
                                      const std::vector<resident>& on_device) {
    if (need > dev.total_bytes)
        return residency_error{residency_errc::never_fits,
                               fmt::format("needs {} of memory; {} has {} in all", mib(need),
                                           dev.device, mib(dev.total_bytes))};
    load_plan plan{.device = dev.device, .evict = {}};
    if (need <= dev.free_bytes) return plan;
    std::vector<const resident*> idle;
    for (const auto& r : on_device)
        if (r.device == dev.device && evictable(r)) idle.push_back(&r);
    std::stable_sort(idle.begin(), idle.end(), [](const auto* a, const auto* b) {
        return std::tie(a->wanted, a->last_used) < std::tie(b->wanted, b->last_used);
    });
    uint64_t free = dev.free_bytes;
    for (const auto* r : idle) {
        if (free >= need) break;
        plan.evict.push_back(r->id);
        free += r->bytes;
    }
    if (free >= need) return plan;
    return residency_error{
        residency_errc::must_wait,
        fmt::format("needs {} of memory; {} has {} free and {} more held by idle instances; "
                    "the rest is held by instances in use or loading",
                    mib(need), dev.device, mib(dev.free_bytes), mib(free - dev.free_bytes))};
}

residency_result<load_plan> choose_device(uint64_t need, const std::vector<device_memory>& devices,
                                          const std::vector<resident>& residents) {
    if (devices.empty()) return residency_error{residency_errc::never_fits, "no device to load on"};
    std::optional<load_plan> best;
    uint64_t best_key = 0;  // free bytes when nothing is evicted, else evicted bytes
    bool best_clean = false;
    std::optional<residency_error> first_error;
    for (const auto& d : devices) {
        auto p = plan_load(need, d, residents);
        if (!p) {
            if (!first_error || (first_error->code == residency_errc::never_fits &&
                                 p.error().code == residency_errc::must_wait))
                first_error = p.error();
            continue;
        }
        const bool clean = p->evict.empty();
        uint64_t evicted = 0;
        for (const auto& r : residents)
            if (std::find(p->evict.begin(), p->evict.end(), r.id) != p->evict.end())
                evicted += r.bytes;
        const bool better = !best || (clean && !best_clean) ||
                            (clean && best_clean && d.free_bytes > best_key) ||
                            (!clean && !best_clean && evicted < best_key);
        if (better) {
            best = std::move(*p);
            best_clean = clean;
            best_key = clean ? d.free_bytes : evicted;
        }
    }
    if (best) return *best;
    return *first_error;
}

}  // namespace llorch::pool
