#include "pool/pool_table.h"

#include <algorithm>

#include "pool/engine_launcher.h"
#include "pool/pool_names.h"

namespace llorch::pool {

long replica::pid() const {
    if (engine) return engine->exited() ? 0 : engine->pid();
    return external_pid;
}

int pool_entry::in_flight() const {
    int n = 0;
    for (const auto& r : replicas) n += r->in_flight;
    return n;
}

int pool_entry::slots_total() const {
    int n = 0;
    for (const auto& r : replicas)
        if (!r->retired) n += r->slots;
    return n > 0 ? n : cfg.slots;
}

int pool_entry::slots_free() const {
    if (!accepts_requests(state)) return 0;
    int n = 0;
    for (const auto& r : replicas)
        if (r->ready && !r->retired) n += std::max(0, r->free_slots());
    return n;
}

bool pool_entry::any_ready() const {
    return std::any_of(replicas.begin(), replicas.end(), [](const auto& r) { return r->ready; });
}

std::shared_ptr<replica> pool_entry::pick_replica() const {
    std::shared_ptr<replica> best;
    for (const auto& r : replicas) {
        if (!r->ready || r->retired || r->free_slots() <= 0) continue;
        if (!best || r->free_slots() > best->free_slots()) best = r;
    }
    return best;
}

const std::string& pool_entry::served_model() const {
    const std::string* path = &cfg.model;
    for (const auto& r : replicas)
        if (!r->retired) path = &r->model;
    return *path;
}

request_limits pool_entry::limits() const {
    return {cfg.max_tokens_default, cfg.max_tokens_cap, cfg.ctx};
}

pool_snapshot snapshot_of(const pool_entry& p) {
    pool_snapshot s;
    s.id = p.cfg.id;
    s.name = p.cfg.name;
    s.aliases = p.cfg.aliases;
    s.labels = p.cfg.labels;
    s.weight = p.cfg.weight;
    s.embeddings = p.cfg.embeddings;
    s.engine = std::string(to_string(p.cfg.engine));
    s.device = p.cfg.device.empty() ? "cpu" : p.cfg.device;
    s.state = p.state;
    s.last_error = p.last_error;
    s.restarts = p.restarts;
    s.slots_total = p.slots_total();
    s.slots_free = p.yielding() ? 0 : p.slots_free();  // takes no new request: none is free
    s.in_flight = p.in_flight();
    s.ctx = p.cfg.ctx;
    s.max_tokens_default = p.cfg.max_tokens_default;
    s.max_tokens_cap = p.cfg.max_tokens_cap;
    s.adopted = p.adopted;
    s.reloading = p.reloading;
    s.yielding = p.yielding();
    s.generation = p.generation;
    if (p.retry_at) {
        auto in = std::chrono::duration_cast<std::chrono::milliseconds>(
            *p.retry_at - std::chrono::steady_clock::now());
        s.retry_in_ms = std::max<long long>(0, in.count());
    }
    s.model = p.served_model();
    s.on_demand = p.cfg.on_demand;
    if (p.cfg.on_demand) {
        s.idle_ttl_ms = p.idle_ttl().count();
        s.memory_bytes = p.memory_bytes;
        s.need_bytes = p.need_bytes;
        s.load_ms = p.load_time.count();
        if (p.state == pool_state::ready && p.in_flight() == 0 && s.idle_ttl_ms >= 0) {
            auto in = std::chrono::duration_cast<std::chrono::milliseconds>(
                p.last_used + p.idle_ttl() - std::chrono::steady_clock::now());
            s.expires_in_ms = std::max<long long>(0, in.count());
        }
    }
    for (const auto& r : p.replicas) {
        if (r->retired) continue;
        ++s.replicas;
        if (r->pid() > 0) s.pids.push_back(r->pid());
        s.endpoints.push_back(r->base_url);
        for (const auto& m : r->upstream_models)
            if (std::find(s.upstream_models.begin(), s.upstream_models.end(), m) ==
                s.upstream_models.end())
                s.upstream_models.push_back(m);
        if (r->engine_busy >= 0)
            s.engine_slots_busy = std::max(0, s.engine_slots_busy) + r->engine_busy;
    }
    s.gpus = p.gpus;
    for (const auto& g : p.gpus) {
        s.vram_total_bytes += g.memory_total_bytes;
        s.vram_free_bytes += g.memory_free_bytes;
    }
    return s;
}

std::shared_ptr<pool_entry> pool_table::find(std::string_view id) const {
    auto it = pools_.find(id);
    return it == pools_.end() ? nullptr : it->second;
}

void pool_table::insert(std::shared_ptr<pool_entry> p) {
    auto id = p->cfg.id;
    pools_[id] = std::move(p);
}

void pool_table::erase(std::string_view id) {
    if (auto it = pools_.find(id); it != pools_.end()) pools_.erase(it);
}

std::vector<std::shared_ptr<pool_entry>> pool_table::all() const {
    std::vector<std::shared_ptr<pool_entry>> out;
    out.reserve(pools_.size());
    for (const auto& [id, p] : pools_) out.push_back(p);
    return out;
}

std::vector<pool_snapshot> pool_table::snapshots() const {
    std::vector<pool_snapshot> out;
    out.reserve(pools_.size());
    for (const auto& [id, p] : pools_) out.push_back(snapshot_of(*p));
    return out;
}

std::optional<request_limits> pool_table::limits_for(std::string_view model) const {
    std::optional<request_limits> out;
    for (const auto& [id, p] : pools_)
        if (answers_to(p->cfg.name, p->cfg.aliases, p->served_model(), model))
            fold_limits(out, p->limits());
    return out;
}

}  // namespace llorch::pool
