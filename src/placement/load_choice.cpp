#include "placement/load_choice.h"

#include <algorithm>
#include <string_view>
#include <tuple>

namespace llorch::placement {
using std::chrono::milliseconds;

namespace {

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

std::optional<load_tier> tier_of(const load_site& s) {
    if (s.need_bytes == 0 || s.need_bytes <= s.free_bytes) return load_tier::fits;
    if (s.total_bytes != 0 && s.need_bytes > s.total_bytes) return std::nullopt;
    if (s.need_bytes <= s.free_bytes + s.evictable_bytes) return load_tier::evicts;
    return load_tier::waits;
}

milliseconds cold_start_cost(const load_site& s, load_tier tier) {
    milliseconds t = s.load_time;
    if (t <= milliseconds(0)) t = milliseconds(1'000 + static_cast<int64_t>(s.need_bytes >> 20));
    if (tier != load_tier::fits) t += milliseconds(500);
    return t;
}

load_choice_result<std::optional<load_decision>> choose_load(const load_demand& demand,
                                                             const std::vector<load_site>& sites) {
    if (demand.free_slots > 0 || sites.empty()) return std::optional<load_decision>{};
    if (std::any_of(sites.begin(), sites.end(), [](const load_site& s) { return s.loading; }))
        return std::optional<load_decision>{};
    const load_site* best = nullptr;
    load_tier best_tier = load_tier::waits;
    milliseconds best_cost{0};
    uint64_t largest_need = 0;
    for (const auto& s : sites) {
        largest_need = std::max(largest_need, s.need_bytes);
        auto tier = tier_of(s);
        if (!tier) continue;
        const auto cost = cold_start_cost(s, *tier);
        // Tier, then cold start, then more free memory, then the node's name.
        auto key = [](load_tier t, milliseconds c, const load_site& x) {
            return std::tuple(static_cast<int>(t), c.count(), ~x.free_bytes,
                              std::string_view(x.node_id));
        };
        if (best && key(*tier, cost, s) >= key(best_tier, best_cost, *best)) continue;
        best = &s;
        best_tier = *tier;
        best_cost = cost;
    }
    if (!best)
        return load_choice_error{
            load_choice_errc::never_fits,
            "needs " + mib(largest_need) + " of memory and no node's device holds that much"};
    if (demand.loaded_slots > 0) {
        // Busy instances of the model are loaded: a cold start elsewhere must beat the wait.
        const auto rounds = (demand.waiting + static_cast<size_t>(demand.loaded_slots) - 1) /
                            static_cast<size_t>(demand.loaded_slots);
        const auto wait = demand.service_time * static_cast<int64_t>(rounds);
        if (best_cost >= wait) return std::optional<load_decision>{};
    }
    return std::optional<load_decision>{
        load_decision{best->node_id, best->pool_id, best_tier, best_cost}};
}

}  // namespace llorch::placement
