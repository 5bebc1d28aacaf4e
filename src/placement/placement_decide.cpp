#include "placement/placement_index.h"

// The decisions: place() with its overrides, session affinity and strategies, over the model's
// eligible set that placement_index.cpp keeps; and the lookup of pools by name that overrides use.

#include <algorithm>

namespace llorch::placement {

namespace {

bool contains(const std::vector<uint32_t>& v, uint32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

bool has_label(const pool_entry& e, const std::string& label) {
    return std::find(e.state.labels.begin(), e.state.labels.end(), label) != e.state.labels.end();
}

}  // namespace

bool placement_index::serves_model(const slot& s, uint32_t model) const {
    return s.live && contains(s.model_ids, model);
}

template <class F>
void placement_index::for_each_named(std::string_view name, F&& fn) const {
    const auto slash = name.find('/');
    if (slash == std::string_view::npos) {
        if (auto it = by_pool_id_.find(name); it != by_pool_id_.end()) {
            for (uint32_t p : it->second) fn(p);
        }
        return;
    }
    const auto node = nodes_.find(name.substr(0, slash));
    if (node == nodes_.end()) return;
    const auto& known = node->second.by_pool_id;
    if (auto it = known.find(name.substr(slash + 1)); it != known.end()) fn(it->second);
}

// Some running task of the job is on one of the node's pools: O(j).
bool placement_index::runs_job(const node_info* node, const std::vector<pool_ref>& job) const {
    return std::any_of(job.begin(), job.end(), [&](pool_ref r) {
        const slot* s = live_slot(r);
        return s != nullptr && s->node == node;
    });
}

std::optional<uint32_t> placement_index::pick_hybrid(model_set& ms,
                                                     const std::vector<uint32_t>& avoid,
                                                     std::optional<uint32_t> affinity,
                                                     const std::vector<const affinity_rule*>& rules,
                                                     const std::vector<pool_ref>* job) {
    // Filter, then score: a pool lacking a required label is skipped; the others score their
    // hybrid key + the weights of the preferred labels they carry (+ affinity for the session's
    // pool). The ranked set is walked from the top and stops once no later pool, even with every
    // bonus, could beat the best so far: O(1) to O(log n) without rules, O(n) at worst when the
    // best-ranked pools all lack a required label.
    double max_bonus = affinity ? config_.hybrid.affinity : 0.0;
    for (const auto* r : rules) max_bonus += r->required ? 0.0 : std::max(r->weight, 0.0);
    std::optional<uint32_t> best;
    double best_score = 0.0;
    for (auto it = ms.ranked.rbegin(); it != ms.ranked.rend(); ++it) {
        if (best && it->first + max_bonus <= best_score) break;
        const uint32_t p = it->second;
        if (!avoid.empty() && contains(avoid, p)) continue;
        const pool_entry& e = slots_[p].entry;
        double score = it->first;
        bool fits = true;
        for (const auto* r : rules) {
            const bool has = has_label(e, r->label);
            if (r->required && !has) fits = false;
            if (!r->required && has) score += r->weight;
        }
        if (!fits) continue;
        if (affinity && p == *affinity) score += config_.hybrid.affinity;
        if (job != nullptr && runs_job(slots_[p].node, *job)) score -= config_.hybrid.spread;
        if (!best || score > best_score) {
            best = p;
            best_score = score;
        }
    }
    return best;
}

std::optional<uint32_t> placement_index::pick(model_set& ms, const std::vector<uint32_t>& avoid) {
    auto allowed = [&](uint32_t p) { return avoid.empty() || !contains(avoid, p); };
    switch (config_.strategy) {
        case placement_strategy::round_robin: {
            if (ms.ordered.empty()) return std::nullopt;
            auto it = ms.cursor ? ms.ordered.upper_bound(*ms.cursor) : ms.ordered.begin();
            for (size_t n = 0; n < ms.ordered.size(); ++n, ++it) {
                if (it == ms.ordered.end()) it = ms.ordered.begin();
                if (allowed(*it)) {
                    ms.cursor = *it;
                    return *it;
                }
            }
            return std::nullopt;
        }
        case placement_strategy::least_loaded:
        case placement_strategy::hybrid: {  // hybrid: pick_hybrid
            std::optional<std::pair<double, uint32_t>> best;
            for (auto it = ms.ranked.rbegin(); it != ms.ranked.rend(); ++it) {
                if (allowed(it->second)) {
                    best = *it;
                    break;
                }
            }
            if (best) return best->second;
            return std::nullopt;
        }
        case placement_strategy::random:
        case placement_strategy::weighted: {
            // Avoided pools get weight 0 for this one draw: exact, and O(k log n) for k avoided.
            std::vector<std::pair<uint32_t, int64_t>> saved;
            for (uint32_t p : avoid) {
                if (auto old = ms.sampler.set_weight(p, 0)) saved.emplace_back(p, *old);
            }
            std::optional<uint32_t> chosen;
            if (ms.sampler.total() > 0) {
                std::uniform_int_distribution<uint64_t> dist(
                    0, static_cast<uint64_t>(ms.sampler.total()) - 1);
                chosen = ms.sampler.pick(dist(rng_));
            }
            for (auto [p, w] : saved) ms.sampler.set_weight(p, w);
            return chosen;
        }
    }
    return std::nullopt;
}

placement_decision placement_index::decide(uint32_t index) const {
    const slot& s = slots_[index];
    return placement_decision{s.entry.node_id, s.entry.pool_id, s.node->address,
                              pool_ref{index, s.generation}};
}

placement_result<placement_decision> placement_index::place(const placement_request& request) {
    const auto mit = model_ids_.find(request.model);
    if (mit == model_ids_.end() || models_[mit->second].serving == 0) {
        return placement_errc::model_not_available;
    }
    const uint32_t model = mit->second;
    const placement_overrides& o = request.overrides;

    std::vector<uint32_t> avoid;
    for (const auto& name : o.avoid_pools) {
        for_each_named(name, [&](uint32_t p) {
            if (!contains(avoid, p)) avoid.push_back(p);
        });
    }
    auto usable = [&](uint32_t p) {
        const slot& s = slots_[p];
        return serves_model(s, model) && s.indexed && !contains(avoid, p);
    };

    if (o.mode == placement_mode::pin) {
        std::optional<uint32_t> chosen;
        bool waitable = false;
        for_each_named(o.pin_pool_id, [&](uint32_t p) {
            const slot& s = slots_[p];
            if (chosen || !serves_model(s, model)) return;
            if (s.indexed) {
                chosen = p;
            } else if (!s.entry.state.draining) {
                waitable = true;  // exists and serves the model: busy, starting or node away
            }
        });
        if (chosen) return decide(*chosen);
        if (!o.allow_fallback) {
            return waitable ? placement_errc::no_capacity : placement_errc::pin_unsatisfiable;
        }
    }

    for (const auto& name : o.prefer_pools) {
        std::optional<uint32_t> chosen;
        for_each_named(name, [&](uint32_t p) {
            if (!chosen && usable(p)) chosen = p;
        });
        if (chosen) return decide(*chosen);
    }

    std::optional<uint32_t> affinity;
    if (const slot* s = live_slot(request.session_pool);
        s != nullptr && usable(request.session_pool.index)) {
        if (config_.strategy != placement_strategy::hybrid)
            return decide(request.session_pool.index);
        affinity = request.session_pool.index;
    }

    model_set& ms = models_[model];
    std::optional<uint32_t> chosen;
    if (config_.strategy == placement_strategy::hybrid) {
        std::vector<const affinity_rule*> rules;
        for (const auto& r : config_.rules) {
            if (rule_applies(r, model_of_key(request.model), request.priority)) rules.push_back(&r);
        }
        const std::vector<pool_ref>* job = nullptr;
        if (auto it = request.job_id.empty() ? job_pools_.end() : job_pools_.find(request.job_id);
            it != job_pools_.end())
            job = &it->second;
        chosen = pick_hybrid(ms, avoid, affinity, rules, job);
    } else {
        chosen = pick(ms, avoid);
    }
    if (chosen) return decide(*chosen);

    if (!avoid.empty()) {
        uint32_t avoided_serving = 0;
        for (uint32_t p : avoid) avoided_serving += serves_model(slots_[p], model) ? 1 : 0;
        if (avoided_serving == ms.serving) return placement_errc::all_avoided;
    }
    return placement_errc::no_capacity;
}

std::optional<pool_ref> placement_index::find(std::string_view name) const {
    std::optional<pool_ref> found;
    for_each_named(name, [&](uint32_t p) {
        if (!found) found = pool_ref{p, slots_[p].generation};
    });
    return found;
}

}  // namespace llorch::placement
