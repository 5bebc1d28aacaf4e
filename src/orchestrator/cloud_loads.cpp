#include "orchestrator/cloud_loads.h"

#include <algorithm>

#include <boost/json.hpp>

#include "common/log.h"
#include "orchestrator/cloud_backend.h"
#include "orchestrator/pool_backend.h"
#include "orchestrator/remote_pool_admin.h"
#include "placement/load_choice.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using namespace std::chrono_literals;
using pool::pool_state;

namespace {

std::shared_ptr<spdlog::logger> loads_log() { return common::logger("orchestratord"); }

std::string key_of(const std::string& node_id, const std::string& pool_id) {
    return node_id + "/" + pool_id;
}

bool unloaded(pool_state s) { return s == pool_state::offline || s == pool_state::uninitialized; }

bool loading(pool_state s) { return s == pool_state::provisioning || s == pool_state::starting; }

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

// How long a load asked for counts as under way without the node's report showing it.
constexpr auto ask_expiry = 30s;

}  // namespace

cloud_loads::cloud_loads(cloud_backend& backend, placement::placement_index& index,
                         boost::asio::any_io_executor ex)
    : backend_(backend), index_(index), background_(std::move(ex)) {}

const pool::device_report* cloud_loads::device_for(const pool::pool_snapshot& s,
                                                   const std::vector<pool::device_report>& memory) {
    const pool::device_report* best = nullptr;
    for (const auto& d : memory) {
        if (!s.device.empty() && d.device == s.device) return &d;
        if (!best || d.free_bytes + d.evictable_bytes > best->free_bytes + best->evictable_bytes)
            best = &d;
    }
    return best;
}

bool cloud_loads::can_start(const std::string& node_id, const pool::pool_snapshot& s,
                            const std::vector<pool::device_report>& memory) const {
    if (!s.on_demand) return s.state != pool_state::failed && s.state != pool_state::offline;
    const auto key = key_of(node_id, s.id);
    if (s.state == pool_state::failed) return revived_.contains(key) || asked_.contains(key);
    if (!unloaded(s.state) || s.need_bytes == 0) return true;
    const auto* d = device_for(s, memory);
    return !d || d->total_bytes == 0 || s.need_bytes <= d->total_bytes;
}

void cloud_loads::report(const std::string& node_id, const std::vector<pool::reported_pool>& pools,
                         const std::vector<pool::device_report>& memory) {
    auto& n = nodes_[node_id];
    n.memory = memory;
    unindex(node_id, n);
    n.pools.clear();
    const auto now = std::chrono::steady_clock::now();
    for (const auto& p : pools) {
        if (!p.pool.on_demand) continue;
        const auto key = key_of(node_id, p.pool.id);
        if (auto a = asked_.find(key);
            a != asked_.end() && ((!unloaded(p.pool.state) && p.pool.state != pool_state::failed) ||
                                  now - a->second > ask_expiry))
            asked_.erase(a);
        if (p.pool.state == pool_state::ready)
            for (const auto& m : p.models) failures_.erase(m);
        for (const auto& m : p.models) by_model_[m].emplace(node_id, p.pool.id);
        n.pools[p.pool.id] = pool_record{p.pool, p.models};
    }
}

void cloud_loads::unindex(const std::string& node_id, const node_record& n) {
    for (const auto& [id, p] : n.pools)
        for (const auto& m : p.models)
            if (auto it = by_model_.find(m); it != by_model_.end()) {
                it->second.erase({node_id, id});
                if (it->second.empty()) by_model_.erase(it);
            }
}

void cloud_loads::forget_node(const std::string& node_id) {
    if (auto it = nodes_.find(node_id); it != nodes_.end()) {
        unindex(node_id, it->second);
        nodes_.erase(it);
    }
    const auto prefix = node_id + "/";
    std::erase_if(asked_, [&](const auto& a) { return a.first.starts_with(prefix); });
    std::erase_if(revived_, [&](const auto& a) { return a.first.starts_with(prefix); });
}

void cloud_loads::set_startable(const std::string& node_id, const std::string& pool_id) {
    auto ref = index_.find(node_id, pool_id);
    if (!ref) return;
    const auto* e = index_.find(*ref);
    if (!e || !e->state.down) return;
    auto st = e->state;
    st.down = false;
    index_.update_pool(*ref, st);
}

void cloud_loads::revive(const std::string& model) {
    for_model(model, [&](const std::string& node_id, const node_record&, const pool_record& p) {
        if (p.pool.state != pool_state::failed) return;
        revived_[key_of(node_id, p.pool.id)] = true;
        set_startable(node_id, p.pool.id);
    });
}

bool cloud_loads::reachable(const std::string& node_id, const std::string& pool_id) const {
    auto ref = index_.find(node_id, pool_id);
    const auto* e = ref ? index_.find(*ref) : nullptr;
    return e && e->node_available && !e->breaker_open;
}

void cloud_loads::want(const std::string& model) {
    bool loaded = false;
    for_model(model, [&](const std::string& node_id, const node_record&, const pool_record& p) {
        loaded |= p.pool.state == pool_state::ready && reachable(node_id, p.pool.id);
    });
    if (!loaded) (void)ensure_loaded(model, std::nullopt, model_demand{});
}

std::optional<std::string> cloud_loads::ensure_loaded(
    const std::string& model, std::optional<std::chrono::milliseconds> keep_alive,
    const model_demand& demand) {
    placement::load_demand d{.waiting = demand.waiting, .service_time = demand.service_time};
    std::vector<placement::load_site> sites;
    std::optional<std::string> under_way;
    for_model(model, [&](const std::string& node_id, const node_record& n, const pool_record& p) {
        const auto& id = p.pool.id;
        const auto key = key_of(node_id, id);
        const auto& s = p.pool;
        // A node that is away (offline, its breaker open) neither serves nor loads for now.
        if (!reachable(node_id, id)) return;
        if (s.state == pool_state::ready) {
            d.loaded_slots += s.slots_total;
            if (auto ref = index_.find(node_id, id))
                if (const auto* e = index_.find(*ref)) d.free_slots += e->free_slots();
            if (keep_alive) ask(node_id, p, model, keep_alive);
            return;
        }
        const bool asked = asked_.contains(key);
        if (!unloaded(s.state) && !loading(s.state) && !asked &&
            !(s.state == pool_state::failed && revived_.contains(key)))
            return;  // unloading, draining, failed
        if (!can_start(node_id, s, n.memory)) return;
        placement::load_site site{.node_id = node_id,
                                  .pool_id = id,
                                  .loading = loading(s.state) || asked,
                                  .need_bytes = s.need_bytes,
                                  .load_time = std::chrono::milliseconds(s.load_ms)};
        if (const auto* dev = device_for(s, n.memory)) {
            site.free_bytes = dev->free_bytes;
            site.evictable_bytes = dev->evictable_bytes;
            site.total_bytes = dev->total_bytes;
        } else {
            site.free_bytes = UINT64_MAX;  // the node said nothing of its memory
        }
        if (site.loading && !under_way) under_way = key;
        sites.push_back(std::move(site));
    });
    if (index_.can_serve_now(model)) d.free_slots = std::max(d.free_slots, 1);
    auto choice = placement::choose_load(d, sites);
    if (!choice) {
        failures_[model] = choice.error().message;
        return std::nullopt;
    }
    if (!*choice) return d.free_slots > 0 ? std::nullopt : under_way;
    const auto& c = **choice;
    const auto& rec = nodes_[c.node_id].pools[c.pool_id];
    loads_log()->info(
        "model={} loads on node_id={} pool_id={} (tier {}, cold start ~{} ms, {} waiting)", model,
        c.node_id, c.pool_id, static_cast<int>(c.tier), c.cold_start.count(), demand.waiting);
    ask(c.node_id, rec, model, keep_alive);
    asked_[key_of(c.node_id, c.pool_id)] = std::chrono::steady_clock::now();
    return key_of(c.node_id, c.pool_id);
}

void cloud_loads::ask(const std::string& node_id, const pool_record& p, const std::string& model,
                      std::optional<std::chrono::milliseconds> keep_alive) {
    json::object body;
    if (keep_alive) body["keep_alive_ms"] = keep_alive->count();
    const auto& name = p.pool.name.empty() ? model : p.pool.name;
    background_.spawn(send(node_id, p.pool.id, name, model, "/v2/models/" + name + "/load",
                           json::serialize(body)),
                      "load of " + model + " on node " + node_id);
}

boost::asio::awaitable<void> cloud_loads::send(std::string node_id, std::string pool_id,
                                               std::string name, std::string model,
                                               std::string path, std::string body) {
    const bool load = path.ends_with("/load");
    auto r = co_await backend_.forward(node_id, "POST", path, std::move(body));
    // The node has the load now (or refused it): its reports say the rest.
    for_model(model, [&](const std::string& nid, const node_record&, const pool_record& p) {
        revived_.erase(key_of(nid, p.pool.id));
    });
    std::string why;
    if (!r)
        why = r.error().message;
    else if (r->first != 200 && r->first != 202)
        why = node_error(r->first, r->second).message;
    if (why.empty()) co_return;
    if (!load) {
        loads_log()->warn("model={} node_id={} unload refused: {}", model, node_id, why);
        co_return;
    }
    asked_.erase(key_of(node_id, pool_id));
    failures_[model] = "node " + node_id + " could not load '" + name + "': " + why;
    loads_log()->warn("model={} node_id={} pool_id={} load refused: {}", model, node_id, pool_id,
                      why);
}

std::string cloud_loads::load_failure(const std::string& model) const {
    if (auto f = failures_.find(model); f != failures_.end()) return f->second;
    std::string failed;
    uint64_t need = 0, largest = 0;
    bool any = false;
    for_model(model, [&](const std::string&, const node_record& n, const pool_record& p) {
        any = true;
        if (p.pool.state == pool_state::failed && !p.pool.last_error.empty())
            failed = p.pool.last_error;
        need = std::max(need, p.pool.need_bytes);
        if (const auto* d = device_for(p.pool, n.memory))
            largest = std::max(largest, d->total_bytes);
    });
    if (!failed.empty() || !any) return failed;
    if (need > largest && largest > 0)
        return "not enough memory: needs " + mib(need) +
               " of memory; the largest device of a "
               "node that has it holds " +
               mib(largest);
    return {};
}

api::api_result<void> cloud_loads::unload(const std::string& model) {
    bool any = false;
    for_model(model, [&](const std::string& node_id, const node_record&, const pool_record& p) {
        any = true;
        if (unloaded(p.pool.state) || p.pool.state == pool_state::failed) return;
        const auto& name = p.pool.name.empty() ? model : p.pool.name;
        background_.spawn(
            send(node_id, p.pool.id, name, model, "/v2/models/" + name + "/unload", "{}"),
            "unload of " + model + " on node " + node_id);
    });
    if (!any)
        return api::make_error(api::error_code::not_found,
                               "no node serves an on-demand model '" + model + "'");
    return {};
}

}  // namespace llorch::orchestrator
