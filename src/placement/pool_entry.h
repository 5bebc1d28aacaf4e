#pragma once
// What the placement index knows about one pool: the node's last report (pool_state), the
// control plane's own in-flight count, and observed latency and health. A pool is named
// cluster-wide `node_id/pool_id`; in the HOME profile node_id is empty and the name is `pool_id`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llorch::placement {

// A stable handle to a pool in placement_index. The generation makes a handle kept past the
// pool's removal harmless: every call with a stale handle is ignored.
struct pool_ref {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;

    bool valid() const { return index != UINT32_MAX; }
    friend bool operator==(const pool_ref&, const pool_ref&) = default;
};

// A pool as its node reports it (registration, heartbeat, or the local pool manager).
struct pool_state {
    std::vector<std::string> models;  // every name the pool answers to (name, aliases, path)
    std::string engine;
    std::vector<std::string> labels;  // placement labels (`big`, `fast`) from the pool's config
    int weight = 0;                   // the `weighted` strategy's weight; 0: slots_total
    bool ready = false;
    bool draining = false;
    // Failed or offline: takes no task, and none is on its way until a retry of the node's or an
    // operator's reload starts it (a pool provisioning, starting or restarting is not down).
    bool down = false;
    int slots_total = 0;
    int slots_free = 0;  // as reported; only a cross-check of the control plane's own count
    uint64_t vram_total_bytes = 0;
    uint64_t vram_free_bytes = 0;
    bool vram_ok = true;  // fits the VRAM policy; decided by whoever reports the state
    // Also answers embedding requests: each of `models` is indexed a second time under
    // embeddings_key(name), the name an embedding task is placed by.
    bool embeddings = false;
};

// The model name an embedding task is placed by: a pool serves it when it serves `model` and
// answers embedding requests. The prefix holds a control character, which no model name has.
inline constexpr std::string_view embeddings_prefix =
    "\x1f"
    "embeddings\x1f";
inline std::string embeddings_key(std::string_view model) {
    return std::string(embeddings_prefix).append(model);
}
// The model name of a placement key (what affinity rules match).
inline std::string_view model_of_key(std::string_view key) {
    return key.starts_with(embeddings_prefix) ? key.substr(embeddings_prefix.size()) : key;
}

struct pool_entry {
    std::string node_id;
    std::string pool_id;
    pool_state state;
    bool node_available = true;  // the node is online (not draining, offline or failed)
    bool breaker_open = false;   // the node's circuit breaker is open
    // The server monitor's probe verdict (monitor::server_monitor, with fall/rise hysteresis):
    // an unhealthy pool takes no task under any strategy until its probes say it is back.
    bool healthy = true;
    int in_flight = 0;  // tasks this control plane dispatched and not yet completed
    // Slots the node reported busy beyond our own in-flight count at its last report (another
    // client of the engine, or work we have lost track of). Kept until the next report so that
    // a stale heartbeat does not hide slots our own completions have freed since.
    int busy_elsewhere = 0;
    double latency_ewma_ms = 0.0;
    bool latency_observed = false;
    double health = 1.0;  // EWMA of request outcomes, 1 = every request succeeded

    // slots_total - in_flight - busy_elsewhere: equals min(slots_total - in_flight, reported
    // slots_free) at the moment of a report, and grows as our own tasks complete.
    int free_slots() const {
        const int free = state.slots_total - in_flight - busy_elsewhere;
        return free > 0 ? free : 0;
    }
    std::string name() const { return node_id.empty() ? pool_id : node_id + "/" + pool_id; }
};

}  // namespace llorch::placement
