#include "pool/node_report.h"

#include <algorithm>
#include <unordered_set>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "http/ids.h"
#include "pool/catalog_json.h"
#include "pool/pool_names.h"
#include "pool/pool_snapshot_json.h"

namespace llorch::pool {
namespace json = boost::json;

namespace {

api::error invalid(std::string m) {
    return api::make_error(api::error_code::invalid_params, std::move(m));
}

json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.push_back(json::value(s));
    return a;
}

json::array pools_json(const std::vector<reported_pool>& pools) {
    json::array a;
    for (const auto& p : pools) {
        auto o = to_json(p.pool);
        o["models"] = strings(p.models);
        a.push_back(std::move(o));
    }
    return a;
}

api::api_result<std::vector<reported_pool>> parse_pools(const json::object& o) {
    std::vector<reported_pool> out;
    auto* p = o.if_contains("pools");
    if (!p || p->is_null()) return out;
    if (!p->is_array()) return invalid("pools: must be an array");
    std::unordered_set<std::string> ids;  // a pool id twice is refused; a set keeps it O(P)
    ids.reserve(p->get_array().size());
    for (const auto& v : p->get_array()) {
        auto s = pool_snapshot_from_json(v);
        if (!s) return s.error();
        if (!ids.insert(s->id).second) return invalid("pools: pool_id '" + s->id + "' twice");
        std::vector<std::string> models;
        if (auto* m = v.get_object().if_contains("models"); m && m->is_array()) {
            for (const auto& x : m->get_array()) {
                if (!x.is_string()) return invalid("pools: models must be strings");
                models.emplace_back(x.get_string());
            }
        }
        // A pool answers at least to what its snapshot names, whatever the list left out.
        for (auto& n : model_names(*s))
            if (std::find(models.begin(), models.end(), n) == models.end())
                models.push_back(std::move(n));
        out.push_back(reported_pool{std::move(*s), std::move(models)});
    }
    return out;
}

// A byte count the node only informs about: 0 when absent or not a count.
uint64_t bytes_of(const json::value* v) {
    if (!v) return 0;
    if (v->is_uint64()) return v->get_uint64();
    return v->is_int64() && v->get_int64() > 0 ? static_cast<uint64_t>(v->get_int64()) : 0;
}

std::string text_or_empty(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

void put_catalog(json::object& o, const std::optional<uint64_t>& version,
                 const std::optional<std::vector<catalog::catalog_entry>>& entries) {
    if (version) o["catalog_version"] = *version;
    if (entries) o["catalog"] = to_json(*entries);
}

api::api_result<void> take_catalog(const json::object& o, std::optional<uint64_t>& version,
                                   std::optional<std::vector<catalog::catalog_entry>>& entries) {
    if (auto* v = o.if_contains("catalog_version"); v && !v->is_null()) {
        if (v->is_uint64())
            version = v->get_uint64();
        else if (v->is_int64() && v->get_int64() >= 0)
            version = static_cast<uint64_t>(v->get_int64());
        else
            return invalid("catalog_version: must be an integer >= 0");
    }
    if (auto* c = o.if_contains("catalog"); c && !c->is_null()) {
        auto e = catalog_entries_from_json(*c);
        if (!e) return e.error();
        entries = std::move(*e);
    }
    return {};
}

json::array memory_json(const std::vector<device_report>& devices) {
    json::array a;
    for (const auto& d : devices)
        a.push_back(json::object{{"device", d.device},
                                 {"free_bytes", d.free_bytes},
                                 {"total_bytes", d.total_bytes},
                                 {"evictable_bytes", d.evictable_bytes}});
    return a;
}

// At most one entry per GPU a machine can have, and the CPU.
constexpr size_t max_reported_devices = 64;

api::api_result<std::vector<device_report>> parse_memory(const json::object& o) {
    std::vector<device_report> out;
    auto* m = o.if_contains("memory");
    if (!m || m->is_null()) return out;
    if (!m->is_array()) return invalid("memory: must be an array of devices");
    if (m->get_array().size() > max_reported_devices)
        return invalid("memory: more than " + std::to_string(max_reported_devices) + " devices");
    for (const auto& v : m->get_array()) {
        if (!v.is_object()) return invalid("memory: each device must be an object");
        const auto& d = v.get_object();
        device_report r{.device = text_or_empty(d, "device"),
                        .free_bytes = bytes_of(d.if_contains("free_bytes")),
                        .total_bytes = bytes_of(d.if_contains("total_bytes")),
                        .evictable_bytes = bytes_of(d.if_contains("evictable_bytes"))};
        if (r.device.empty() || r.device.size() > 64)
            return invalid(
                "memory: a device needs a name (\"cpu\", \"gpu:0\") of at most 64 bytes");
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

reported_pool report_of(pool_snapshot s) {
    auto names = model_names(s);
    return reported_pool{std::move(s), std::move(names)};
}

json::object to_json(const node_registration_body& b) {
    json::array gpus;
    for (const auto& g : b.gpus)
        gpus.push_back(json::object{{"device_id", g.device_id},
                                    {"name", g.name},
                                    {"vram_total_bytes", g.vram_total_bytes},
                                    {"compute_capability", g.compute_capability}});
    json::object o{{"node_id", b.node_id},
                   {"machine_id", b.machine_id},
                   {"address", b.address},
                   {"version", b.version},
                   {"heartbeat_interval_ms", b.heartbeat_interval.count()},
                   {"capabilities", json::object{{"gpus", std::move(gpus)},
                                                 {"cpu_cores", b.cpu_cores},
                                                 {"ram_total_bytes", b.ram_total_bytes}}},
                   {"models_available", strings(b.models_available)},
                   {"pools", pools_json(b.pools)},
                   {"memory", memory_json(b.memory)}};
    put_catalog(o, b.catalog_version, b.catalog);
    return o;
}

json::object to_json(const node_heartbeat_body& b) {
    json::object o{{"timestamp", b.timestamp_ms}};
    if (b.epoch) o["epoch"] = *b.epoch;
    o["pools"] = pools_json(b.pools);
    o["memory"] = memory_json(b.memory);
    put_catalog(o, b.catalog_version, b.catalog);
    return o;
}

api::api_result<node_registration_body> parse_registration(const json::object& o) {
    node_registration_body b;
    for (auto [key, out] :
         {std::pair{"node_id", &b.node_id}, std::pair{"machine_id", &b.machine_id},
          std::pair{"address", &b.address}, std::pair{"version", &b.version}}) {
        auto* v = o.if_contains(key);
        if (v && !v->is_null() && !v->is_string())
            return invalid(std::string(key) + ": must be a string");
        *out = text_or_empty(o, key);
        // Echoed in answers, logs and metrics: bounded like every id a peer chooses.
        if (out->size() > (std::string_view(key) == "address" ? 2048u : 256u))
            return invalid(std::string(key) + ": too long (" + std::to_string(out->size()) +
                           " bytes)");
    }
    if (!b.node_id.empty() && !http::valid_id(b.node_id))
        return invalid("node_id: " + std::string(http::valid_id_rule));
    auto interval = api::duration_ms_field(o, "heartbeat_interval_ms", b.heartbeat_interval,
                                           min_heartbeat_interval, max_heartbeat_interval);
    if (!interval) return interval.error();
    b.heartbeat_interval = *interval;
    if (auto* c = o.if_contains("capabilities"); c && c->is_object()) {
        const auto& caps = c->get_object();
        if (auto* n = caps.if_contains("cpu_cores");
            n && n->is_int64() && n->get_int64() > 0 && n->get_int64() < 1 << 20)
            b.cpu_cores = static_cast<unsigned>(n->get_int64());
        b.ram_total_bytes = bytes_of(caps.if_contains("ram_total_bytes"));
        if (auto* g = caps.if_contains("gpus"); g && g->is_array())
            for (const auto& x : g->get_array()) {
                if (!x.is_object()) continue;
                const auto& go = x.get_object();
                node_gpu gpu;
                if (auto* d = go.if_contains("device_id"); d && d->is_int64())
                    gpu.device_id = static_cast<int>(d->get_int64());
                gpu.name = text_or_empty(go, "name");
                gpu.vram_total_bytes = bytes_of(go.if_contains("vram_total_bytes"));
                gpu.compute_capability = text_or_empty(go, "compute_capability");
                b.gpus.push_back(std::move(gpu));
            }
    }
    if (auto* m = o.if_contains("models_available"); m && m->is_array())
        for (const auto& x : m->get_array())
            if (x.is_string()) b.models_available.emplace_back(x.get_string());
    auto pools = parse_pools(o);
    if (!pools) return pools.error();
    b.pools = std::move(*pools);
    if (auto c = take_catalog(o, b.catalog_version, b.catalog); !c) return c.error();
    auto memory = parse_memory(o);
    if (!memory) return memory.error();
    b.memory = std::move(*memory);
    return b;
}

api::api_result<node_heartbeat_body> parse_heartbeat(const json::object& o) {
    node_heartbeat_body b;
    if (auto* t = o.if_contains("timestamp"); t && t->is_int64()) b.timestamp_ms = t->get_int64();
    if (auto* e = o.if_contains("epoch"); e && !e->is_null()) {
        if (e->is_uint64())
            b.epoch = e->get_uint64();
        else if (e->is_int64() && e->get_int64() >= 0)
            b.epoch = static_cast<uint64_t>(e->get_int64());
        else
            return invalid("epoch: must be the registration's epoch, an integer >= 0");
    }
    auto pools = parse_pools(o);
    if (!pools) return pools.error();
    b.pools = std::move(*pools);
    if (auto c = take_catalog(o, b.catalog_version, b.catalog); !c) return c.error();
    auto memory = parse_memory(o);
    if (!memory) return memory.error();
    b.memory = std::move(*memory);
    return b;
}

}  // namespace llorch::pool
