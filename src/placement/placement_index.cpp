#include "placement/placement_index.h"

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

placement_index::placement_index(placement_config config) : config_(config), rng_(config.seed) {}

// ---- nodes -------------------------------------------------------------------------------------

placement_index::node_info& placement_index::node_for(std::string_view node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) {
        it = nodes_.emplace(std::string(node_id), node_info{}).first;
        it->second.id = std::string(node_id);
    }
    return it->second;
}

void placement_index::upsert_node(std::string_view node_id, std::string_view address) {
    node_for(node_id).address = std::string(address);
}

void placement_index::remove_node(std::string_view node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return;
    const std::vector<uint32_t> pools = it->second.pools;
    for (uint32_t p : pools) remove_pool(pool_ref{p, slots_[p].generation});
    nodes_.erase(it);
}

void placement_index::set_node_available(std::string_view node_id, bool available) {
    node_info& n = node_for(node_id);
    if (n.available == available) return;
    n.available = available;
    for (uint32_t p : n.pools) {
        slots_[p].entry.node_available = available;
        refresh(p);
    }
}

void placement_index::set_node_breaker_open(std::string_view node_id, bool open) {
    node_info& n = node_for(node_id);
    if (n.breaker_open == open) return;
    n.breaker_open = open;
    for (uint32_t p : n.pools) {
        slots_[p].entry.breaker_open = open;
        refresh(p);
    }
}

// ---- pools -------------------------------------------------------------------------------------

bool placement_index::set_pool_healthy(pool_ref ref, bool healthy) {
    slot* s = live_slot(ref);
    if (!s) return false;
    if (s->entry.healthy != healthy) {
        s->entry.healthy = healthy;
        refresh(ref.index);
    }
    return true;
}

placement_index::slot* placement_index::live_slot(pool_ref ref) {
    if (ref.index >= slots_.size()) return nullptr;
    slot& s = slots_[ref.index];
    return s.live && s.generation == ref.generation ? &s : nullptr;
}

const placement_index::slot* placement_index::live_slot(pool_ref ref) const {
    if (ref.index >= slots_.size()) return nullptr;
    const slot& s = slots_[ref.index];
    return s.live && s.generation == ref.generation ? &s : nullptr;
}

pool_ref placement_index::upsert_pool(std::string_view node_id, std::string_view pool_id,
                                      const pool_state& state) {
    node_info& n = node_for(node_id);
    if (auto known = n.by_pool_id.find(pool_id); known != n.by_pool_id.end()) {
        const pool_ref ref{known->second, slots_[known->second].generation};
        update_pool(ref, state);
        return ref;
    }
    uint32_t index;
    if (!free_list_.empty()) {
        index = free_list_.back();
        free_list_.pop_back();
    } else {
        index = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    slot& s = slots_[index];
    s.entry = pool_entry{};
    s.entry.node_id = n.id;
    s.entry.pool_id = std::string(pool_id);
    s.entry.node_available = n.available;
    s.entry.breaker_open = n.breaker_open;
    s.node = &n;
    s.live = true;
    s.indexed = false;
    s.model_ids.clear();
    s.node_pos = static_cast<uint32_t>(n.pools.size());
    n.pools.push_back(index);
    n.by_pool_id.emplace(std::string(pool_id), index);
    auto& named = by_pool_id_[std::string(pool_id)];
    s.name_pos = static_cast<uint32_t>(named.size());
    named.push_back(index);
    const pool_ref ref{index, s.generation};
    // A new pool always takes the report, even one equal to the blank state.
    apply(ref.index, state);
    return ref;
}

bool placement_index::update_pool(pool_ref ref, const pool_state& state) {
    slot* s = live_slot(ref);
    if (s == nullptr) return false;
    if (!changes(*s, state)) return true;
    apply(ref.index, state);
    return true;
}

// The state the index would hold after the report, and the busy slots it implies.
bool placement_index::changes(const slot& s, const pool_state& state) const {
    const pool_state& st = s.entry.state;
    const int total = std::max(state.slots_total, 0);
    const int free = std::clamp(state.slots_free, 0, total);
    const int busy_elsewhere = std::max(0, (total - free) - s.entry.in_flight);
    return st.engine != state.engine || st.ready != state.ready || st.draining != state.draining ||
           st.down != state.down || st.slots_total != total || st.slots_free != free ||
           st.vram_total_bytes != state.vram_total_bytes ||
           st.vram_free_bytes != state.vram_free_bytes || st.vram_ok != state.vram_ok ||
           s.entry.busy_elsewhere != busy_elsewhere || st.models != state.models ||
           st.labels != state.labels || st.weight != state.weight;
}

void placement_index::apply(uint32_t index, const pool_state& state) {
    ++updates_applied_;
    slot* s = &slots_[index];
    if (s->entry.state.models != state.models) {
        set_models(index, state.models);
        s = &slots_[index];
        s->entry.state.models = state.models;
    }
    pool_state& st = s->entry.state;
    st.engine = state.engine;
    st.labels = state.labels;
    st.weight = state.weight;
    st.ready = state.ready;
    st.draining = state.draining;
    st.down = state.down;
    st.slots_total = std::max(state.slots_total, 0);
    st.slots_free = std::clamp(state.slots_free, 0, st.slots_total);
    st.vram_total_bytes = state.vram_total_bytes;
    st.vram_free_bytes = state.vram_free_bytes;
    st.vram_ok = state.vram_ok;
    s->entry.busy_elsewhere = std::max(0, (st.slots_total - st.slots_free) - s->entry.in_flight);
    refresh(index);
}

bool placement_index::remove_pool(pool_ref ref) {
    slot* s = live_slot(ref);
    if (s == nullptr) return false;
    unindex_pool(ref.index);
    count_startable(ref.index, false);
    for (uint32_t m : s->model_ids) --models_[m].serving;
    s->model_ids.clear();
    // Out of both lists by moving their last element into its place: O(1), order not kept.
    if (auto it = by_pool_id_.find(s->entry.pool_id); it != by_pool_id_.end()) {
        auto& named = it->second;
        const uint32_t last = named.back();
        named[s->name_pos] = last;
        slots_[last].name_pos = s->name_pos;
        named.pop_back();
        if (named.empty()) by_pool_id_.erase(it);
    }
    node_info& n = *s->node;
    const uint32_t last = n.pools.back();
    n.pools[s->node_pos] = last;
    slots_[last].node_pos = s->node_pos;
    n.pools.pop_back();
    n.by_pool_id.erase(s->entry.pool_id);
    s->live = false;
    s->node = nullptr;
    ++s->generation;
    free_list_.push_back(ref.index);
    return true;
}

uint32_t placement_index::model_id(std::string_view model) {
    auto it = model_ids_.find(model);
    if (it != model_ids_.end()) return it->second;
    const auto id = static_cast<uint32_t>(models_.size());
    models_.emplace_back();
    models_.back().name = std::string(model);
    model_ids_.emplace(std::string(model), id);
    return id;
}

void placement_index::set_models(uint32_t index, const std::vector<std::string>& models) {
    unindex_pool(index);
    count_startable(index, false);
    for (uint32_t m : slots_[index].model_ids) --models_[m].serving;
    std::vector<uint32_t> ids;
    ids.reserve(models.size());
    for (const auto& name : models) {
        const uint32_t id = model_id(name);
        if (!contains(ids, id)) ids.push_back(id);
    }
    for (uint32_t m : ids) ++models_[m].serving;
    slots_[index].model_ids = std::move(ids);
    // The caller refreshes once the rest of the state is in place.
}

// ---- dispatcher accounting ---------------------------------------------------------------------

void placement_index::on_dispatch(pool_ref ref, std::string_view job) {
    slot* s = live_slot(ref);
    if (s == nullptr) return;
    if (!job.empty()) {
        auto it = job_pools_.find(job);
        if (it == job_pools_.end()) it = job_pools_.emplace(std::string(job), 0).first;
        it->second.push_back(ref);
    }
    ++s->entry.in_flight;
    refresh(ref.index);
}

void placement_index::on_complete(pool_ref ref, bool success, std::optional<double> latency_ms,
                                  std::string_view job) {
    if (auto it = job.empty() ? job_pools_.end() : job_pools_.find(job); it != job_pools_.end()) {
        // Also for a pool removed since: the job's record must not outlive its tasks.
        if (auto p = std::find(it->second.begin(), it->second.end(), ref); p != it->second.end())
            it->second.erase(p);
        if (it->second.empty()) job_pools_.erase(it);
    }
    slot* s = live_slot(ref);
    if (s == nullptr) return;
    pool_entry& e = s->entry;
    e.in_flight = std::max(0, e.in_flight - 1);
    e.health += config_.health_alpha * ((success ? 1.0 : 0.0) - e.health);
    if (latency_ms) {
        const double v = std::max(0.0, *latency_ms);
        e.latency_ewma_ms =
            e.latency_observed ? e.latency_ewma_ms + config_.latency_alpha * (v - e.latency_ewma_ms)
                               : v;
        e.latency_observed = true;
    }
    refresh(ref.index);
}

// ---- incremental index -------------------------------------------------------------------------

bool placement_index::eligible(const slot& s) const {
    const pool_entry& e = s.entry;
    return s.live && e.node_available && !e.breaker_open && e.healthy && e.state.ready &&
           !e.state.draining && e.state.vram_ok && e.free_slots() > 0 && !s.model_ids.empty();
}

double placement_index::hybrid_score(const slot& s) const {
    const pool_entry& e = s.entry;
    const hybrid_weights& w = config_.hybrid;
    const double free_fraction =
        e.state.slots_total > 0 ? static_cast<double>(e.free_slots()) / e.state.slots_total : 0.0;
    const double scale = std::max(w.latency_scale_ms, 1e-9);
    const double latency = e.latency_observed ? scale / (scale + e.latency_ewma_ms) : 0.5;
    return w.free * free_fraction + w.health * e.health + w.latency * latency;
}

double placement_index::strategy_key(const slot& s) const {
    switch (config_.strategy) {
        case placement_strategy::round_robin:
            return 0.0;
        case placement_strategy::least_loaded:
            return s.entry.free_slots();
        case placement_strategy::random:
            return 1.0;
        case placement_strategy::weighted:
            return s.entry.state.weight > 0 ? s.entry.state.weight : s.entry.state.slots_total;
        case placement_strategy::hybrid:
            return hybrid_score(s);
    }
    return 0.0;
}

void placement_index::index_pool(uint32_t index, double key) {
    slot& s = slots_[index];
    for (uint32_t m : s.model_ids) {
        model_set& ms = models_[m];
        ++ms.eligible;
        switch (config_.strategy) {
            case placement_strategy::round_robin:
                ms.ordered.insert(index);
                break;
            case placement_strategy::least_loaded:
            case placement_strategy::hybrid:
                ms.ranked.emplace(key, index);
                break;
            case placement_strategy::random:
            case placement_strategy::weighted:
                ms.sampler.insert(index, static_cast<int64_t>(key));
                break;
        }
    }
    s.indexed = true;
    s.indexed_key = key;
}

void placement_index::unindex_pool(uint32_t index) {
    slot& s = slots_[index];
    if (!s.indexed) return;
    for (uint32_t m : s.model_ids) {
        model_set& ms = models_[m];
        --ms.eligible;
        switch (config_.strategy) {
            case placement_strategy::round_robin:
                ms.ordered.erase(index);
                break;
            case placement_strategy::least_loaded:
            case placement_strategy::hybrid:
                ms.ranked.erase({s.indexed_key, index});
                break;
            case placement_strategy::random:
            case placement_strategy::weighted:
                ms.sampler.erase(index);
                break;
        }
    }
    s.indexed = false;
}

void placement_index::count_startable(uint32_t index, bool startable) {
    slot& s = slots_[index];
    if (s.startable == startable) return;
    for (uint32_t m : s.model_ids) startable ? ++models_[m].startable : --models_[m].startable;
    s.startable = startable;
}

void placement_index::refresh(uint32_t index) {
    slot& s = slots_[index];
    count_startable(index, s.live && !s.entry.state.down && !s.entry.state.draining);
    const bool want = eligible(s);
    const double key = want ? strategy_key(s) : 0.0;
    if (s.indexed) {
        if (want && key == s.indexed_key) return;
        if (want && (config_.strategy == placement_strategy::random ||
                     config_.strategy == placement_strategy::weighted)) {
            for (uint32_t m : s.model_ids) {
                models_[m].sampler.set_weight(index, static_cast<int64_t>(key));
            }
            s.indexed_key = key;
            return;
        }
        unindex_pool(index);
    }
    if (want) index_pool(index, key);
}

// ---- decisions ---------------------------------------------------------------------------------

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
            if (rule_applies(r, request.model, request.priority)) rules.push_back(&r);
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

bool placement_index::serves(std::string_view model) const {
    const auto it = model_ids_.find(model);
    return it != model_ids_.end() && models_[it->second].serving > 0;
}

bool placement_index::can_serve_now(std::string_view model) const {
    const auto it = model_ids_.find(model);
    return it != model_ids_.end() && models_[it->second].eligible > 0;
}

bool placement_index::can_start(std::string_view model) const {
    const auto it = model_ids_.find(model);
    return it != model_ids_.end() && models_[it->second].startable > 0;
}

// ---- lookups -----------------------------------------------------------------------------------

const pool_entry* placement_index::find(pool_ref ref) const {
    const slot* s = live_slot(ref);
    return s != nullptr ? &s->entry : nullptr;
}

std::optional<pool_ref> placement_index::find(std::string_view node_id,
                                              std::string_view pool_id) const {
    const auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return std::nullopt;
    const auto p = it->second.by_pool_id.find(pool_id);
    if (p == it->second.by_pool_id.end()) return std::nullopt;
    return pool_ref{p->second, slots_[p->second].generation};
}

std::optional<pool_ref> placement_index::find(std::string_view name) const {
    std::optional<pool_ref> found;
    for_each_named(name, [&](uint32_t p) {
        if (!found) found = pool_ref{p, slots_[p].generation};
    });
    return found;
}

const std::string* placement_index::node_address(std::string_view node_id) const {
    const auto it = nodes_.find(node_id);
    return it != nodes_.end() ? &it->second.address : nullptr;
}

void placement_index::for_each_pool(
    const std::function<void(pool_ref, const pool_entry&)>& fn) const {
    for (uint32_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].live) fn(pool_ref{i, slots_[i].generation}, slots_[i].entry);
    }
}

}  // namespace llorch::placement
