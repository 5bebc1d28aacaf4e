#include "placement/placement_index.h"

// The index's upkeep: nodes, pools and their reports, the per-model eligible sets, the
// dispatch/complete accounting and the lookups; the decisions are in placement_decide.cpp.

#include <algorithm>

namespace llorch::placement {

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
           st.labels != state.labels || st.weight != state.weight ||
           st.embeddings != state.embeddings;
}

void placement_index::apply(uint32_t index, const pool_state& state) {
    ++updates_applied_;
    slot* s = &slots_[index];
    if (s->entry.state.models != state.models || s->entry.state.embeddings != state.embeddings) {
        set_models(index, state.models, state.embeddings);
        s = &slots_[index];
        s->entry.state.models = state.models;
        s->entry.state.embeddings = state.embeddings;
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

void placement_index::set_models(uint32_t index, const std::vector<std::string>& models,
                                 bool embeddings) {
    unindex_pool(index);
    count_startable(index, false);
    for (uint32_t m : slots_[index].model_ids) --models_[m].serving;
    std::vector<uint32_t> ids;
    ids.reserve(models.size());
    auto add = [&](std::string_view name) {
        const uint32_t id = model_id(name);
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    };
    for (const auto& name : models) add(name);
    if (embeddings)
        for (const auto& name : models) add(embeddings_key(name));
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
