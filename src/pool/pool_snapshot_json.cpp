#include "pool/pool_snapshot_json.h"

#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/json.hpp>

#include "pool/pool_config.h"

namespace llorch::pool {
namespace json = boost::json;

namespace {

json::value string_or_null(const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(s);
}

// Reads the fields of one report, remembering the first that is wrong.
class field_reader {
  public:
    explicit field_reader(const json::object& o) : o_(o) {}

    void text(const char* key, std::string& out) {
        auto* v = o_.if_contains(key);
        if (!v || v->is_null()) return;
        if (!v->is_string()) return bad(key, "must be a string");
        out = v->get_string();
    }
    void flag(const char* key, bool& out) {
        auto* v = o_.if_contains(key);
        if (!v || v->is_null()) return;
        if (!v->is_bool()) return bad(key, "must be true or false");
        out = v->get_bool();
    }
    template <class Int>
    void count(const char* key, Int& out, long long min = 0) {
        auto* v = o_.if_contains(key);
        if (!v || v->is_null()) return;
        if constexpr (std::is_same_v<Int, uint64_t>) {
            if (v->is_uint64()) {
                out = v->get_uint64();
                return;
            }
        }
        constexpr long long max = std::is_same_v<Int, uint64_t>
                                      ? std::numeric_limits<long long>::max()
                                      : static_cast<long long>(std::numeric_limits<Int>::max());
        if (!v->is_int64() || v->get_int64() < min || v->get_int64() > max)
            return bad(key, "must be an integer in range");
        out = static_cast<Int>(v->get_int64());
    }
    // A fraction in [0, 1].
    void ratio(const char* key, std::optional<double>& out) {
        auto* v = o_.if_contains(key);
        if (!v || v->is_null()) return;
        if (!v->is_number()) return bad(key, "must be a number from 0 to 1");
        const double d = v->to_number<double>();
        if (!(d >= 0 && d <= 1)) return bad(key, "must be a number from 0 to 1");
        out = d;
    }
    void texts(const char* key, std::vector<std::string>& out) {
        auto* v = o_.if_contains(key);
        if (!v || v->is_null()) return;
        if (!v->is_array()) return bad(key, "must be an array of strings");
        out.clear();
        for (const auto& x : v->get_array()) {
            if (!x.is_string()) return bad(key, "must be an array of strings");
            out.emplace_back(x.get_string());
        }
    }
    void pids(const char* key, std::vector<long>& out) {
        auto* v = o_.if_contains(key);
        if (!v || v->is_null()) return;
        if (!v->is_array()) return bad(key, "must be an array of process ids");
        out.clear();
        for (const auto& x : v->get_array()) {
            if (!x.is_int64() || x.get_int64() <= 0) return bad(key, "must be process ids");
            out.push_back(static_cast<long>(x.get_int64()));
        }
    }
    bool has(const char* key) const {
        auto* v = o_.if_contains(key);
        return v && !v->is_null();
    }
    const json::object& object() const { return o_; }
    const std::optional<api::error>& error() const { return error_; }
    void bad(const std::string& key, const std::string& why) {
        if (!error_)
            error_ = api::make_error(api::error_code::invalid_params, "pools: " + key + " " + why);
    }

  private:
    const json::object& o_;
    std::optional<api::error> error_;
};

void read_gpus(field_reader& f, std::vector<gpu::gpu_info>& out) {
    auto* v = f.object().if_contains("gpus");
    if (!v || v->is_null()) return;
    if (!v->is_array()) return f.bad("gpus", "must be an array");
    for (const auto& x : v->get_array()) {
        if (!x.is_object()) return f.bad("gpus", "must be an array of objects");
        field_reader g(x.get_object());
        gpu::gpu_info info;
        g.count("index", info.index);
        g.text("uuid", info.uuid);
        g.text("name", info.name);
        g.count("memory_total_bytes", info.memory_total_bytes);
        g.count("memory_free_bytes", info.memory_free_bytes);
        g.text("compute_capability", info.compute_capability);
        g.ratio("utilization", info.utilization);
        if (g.error()) return f.bad("gpus", g.error()->message);
        out.push_back(std::move(info));
    }
}

}  // namespace

json::object to_json(const pool_snapshot& s) {
    json::object o;
    o["id"] = s.id;
    o["pool_id"] = s.id;
    o["name"] = s.name;
    json::array aliases;
    for (const auto& a : s.aliases) aliases.push_back(json::value(a));
    o["aliases"] = std::move(aliases);
    json::array labels;
    for (const auto& l : s.labels) labels.push_back(json::value(l));
    o["labels"] = std::move(labels);
    o["model"] = s.model;
    o["engine"] = s.engine;
    o["device"] = s.device;
    o["state"] = to_string(s.state);
    o["ready"] = s.state == pool_state::ready;
    o["draining"] = s.state == pool_state::draining;
    o["last_error"] = string_or_null(s.last_error);
    o["restarts"] = s.restarts;
    o["slots_total"] = s.slots_total;
    o["slots_free"] = s.slots_free;
    o["in_flight"] = s.in_flight;
    o["ctx"] = s.ctx;
    o["max_tokens_default"] = s.max_tokens_default;
    o["max_tokens_cap"] = s.max_tokens_cap;
    o["replicas"] = s.replicas;
    json::array pids;
    for (auto p : s.pids) pids.push_back(p);
    o["pids"] = pids;
    o["pid"] = s.pids.empty() ? json::value(nullptr) : json::value(s.pids.front());
    json::array endpoints;
    for (const auto& e : s.endpoints) endpoints.push_back(json::value(e));
    o["endpoints"] = std::move(endpoints);
    json::array upstream_models;
    for (const auto& m : s.upstream_models) upstream_models.push_back(json::value(m));
    o["upstream_models"] = std::move(upstream_models);
    o["weight"] = s.weight;
    o["embeddings"] = s.embeddings;
    o["engine_slots_busy"] =
        s.engine_slots_busy < 0 ? json::value(nullptr) : json::value(s.engine_slots_busy);
    o["adopted"] = s.adopted;
    o["reloading"] = s.reloading;
    o["generation"] = s.generation;
    o["retry_in_ms"] = s.retry_in_ms < 0 ? json::value(nullptr) : json::value(s.retry_in_ms);
    o["vram_total_bytes"] = s.vram_total_bytes;
    o["vram_free_bytes"] = s.vram_free_bytes;
    o["on_demand"] = s.on_demand;
    if (s.on_demand) {
        o["idle_ttl_ms"] = s.idle_ttl_ms;
        o["expires_in_ms"] =
            s.expires_in_ms < 0 ? json::value(nullptr) : json::value(s.expires_in_ms);
        o["memory_bytes"] = s.memory_bytes;
        o["need_bytes"] = s.need_bytes;
        o["load_ms"] = s.load_ms;
    }
    json::array gpus;
    for (const auto& g : s.gpus) {
        json::object go{{"index", g.index},
                        {"uuid", g.uuid},
                        {"name", g.name},
                        {"memory_total_bytes", g.memory_total_bytes},
                        {"memory_free_bytes", g.memory_free_bytes},
                        {"compute_capability", g.compute_capability}};
        if (g.utilization) go["utilization"] = *g.utilization;
        gpus.push_back(std::move(go));
    }
    o["gpus"] = std::move(gpus);
    return o;
}

api::api_result<pool_snapshot> pool_snapshot_from_json(const json::value& v) {
    auto* o = v.if_object();
    if (!o)
        return api::make_error(api::error_code::invalid_params,
                               "pools: each pool must be an object");
    field_reader f(*o);
    pool_snapshot s;
    const pool_config defaults;
    s.max_tokens_default = defaults.max_tokens_default;
    s.max_tokens_cap = defaults.max_tokens_cap;
    f.text("id", s.id);
    f.text("pool_id", s.id);
    f.text("name", s.name);
    f.texts("aliases", s.aliases);
    f.texts("labels", s.labels);
    f.text("model", s.model);
    f.text("engine", s.engine);
    f.text("device", s.device);
    f.text("last_error", s.last_error);
    std::string state;
    f.text("state", state);
    bool ready = false, draining = false;
    f.flag("ready", ready);
    f.flag("draining", draining);
    f.count("restarts", s.restarts);
    f.count("slots_total", s.slots_total);
    f.count("slots_free", s.slots_free);
    f.count("in_flight", s.in_flight);
    f.count("ctx", s.ctx);
    f.count("max_tokens_default", s.max_tokens_default);
    f.count("max_tokens_cap", s.max_tokens_cap);
    f.count("replicas", s.replicas);
    f.pids("pids", s.pids);
    f.texts("endpoints", s.endpoints);
    f.texts("upstream_models", s.upstream_models);
    f.count("weight", s.weight);
    f.flag("embeddings", s.embeddings);
    f.count("engine_slots_busy", s.engine_slots_busy, -1);
    f.flag("adopted", s.adopted);
    f.flag("reloading", s.reloading);
    f.count("generation", s.generation);
    f.count("retry_in_ms", s.retry_in_ms, -1);
    f.count("vram_total_bytes", s.vram_total_bytes);
    f.count("vram_free_bytes", s.vram_free_bytes);
    f.flag("on_demand", s.on_demand);
    f.count("idle_ttl_ms", s.idle_ttl_ms, -1);
    f.count("expires_in_ms", s.expires_in_ms, -1);
    f.count("memory_bytes", s.memory_bytes);
    f.count("need_bytes", s.need_bytes);
    f.count("load_ms", s.load_ms);
    read_gpus(f, s.gpus);
    if (s.name.empty() && f.has("models")) {
        std::vector<std::string> models;
        f.texts("models", models);
        if (!models.empty()) s.name = models.front();
    }
    if (f.error()) return *f.error();
    if (s.id.empty())
        return api::make_error(api::error_code::invalid_params, "pools: a pool has no pool_id");
    if (!state.empty()) {
        auto parsed = parse_pool_state(state);
        if (!parsed)
            return api::make_error(api::error_code::invalid_params,
                                   "pools: state '" + state + "' is not a pool state");
        s.state = *parsed;
    } else {
        s.state = draining ? pool_state::draining
                  : ready  ? pool_state::ready
                           : pool_state::uninitialized;
    }
    return s;
}

json::object health_json(const pool_snapshot& s) {
    bool live = s.state != pool_state::failed && s.state != pool_state::offline &&
                s.state != pool_state::uninitialized && s.state != pool_state::unloading;
    return json::object{{"live", live},
                        {"ready", s.state == pool_state::ready},
                        {"draining", s.state == pool_state::draining},
                        {"metrics", json::object{{"slots_total", s.slots_total},
                                                 {"slots_free", s.slots_free},
                                                 {"restarts", s.restarts}}},
                        {"last_error", string_or_null(s.last_error)}};
}

}  // namespace llorch::pool
