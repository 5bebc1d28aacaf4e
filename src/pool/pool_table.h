#pragma once
// pool_table: the pools of one pool manager as plain state — each pool's config, lifecycle
// state, replicas and their slot counts — and what is read from it: the replica a request goes
// to, snapshots for the API, request limits per model. No I/O, no timers.
//
// Owner: pool_runtime (one per pool manager). Thread: the manager's io thread; nothing locks.
// Lifecycle: configured pools are inserted at construction and stay; adopted pools come and go
// with their handoff files. Entries and replicas are shared_ptrs so that a stream or a monitor
// that outlives a pool's removal still holds what it points at.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/gpu_info.h"
#include "pool/pool_config.h"
#include "pool/pool_manager.h"
#include "pool/pool_state.h"
#include "pool/request_limits.h"
#include "pool/restart_policy.h"

namespace llorch::pool {

class engine_process;

// One engine (a process of ours, or an endpoint run elsewhere) with its slots.
struct replica {
    int index = 0;
    std::string base_url;
    std::string api_key;
    std::shared_ptr<engine_process> engine;  // null for an engine run elsewhere
    int slots = 1;
    int in_flight = 0;
    bool ready = false;
    bool retired = false;  // replaced by a reload; stops when its last stream ends
    bool stopped = false;
    std::string model_name;
    std::string model;
    long external_pid = 0;  // an adopted engine's pid, as its handoff file says
    int engine_busy = -1;   // busy slots the engine itself reported at the last probe; -1 unknown
    bool slot_mismatch = false;
    // An Ollama or OpenAI-compatible server: the models it listed at its last probe, and whether
    // the pool's model was missing from that list (its probes fail meanwhile).
    std::vector<std::string> upstream_models;
    bool model_missing = false;
    // Wakes the replica's monitor (set by it) so that a stop is seen at once.
    std::function<void()> wake;

    int free_slots() const { return slots - in_flight; }
    // The engine's pid as status shows it: ours, or what an adopted engine's file said; 0 none.
    long pid() const;
};

struct pool_entry {
    pool_config cfg;
    pool_state state = pool_state::uninitialized;
    std::string last_error;
    int restarts = 0;
    bool adopted = false;
    bool reloading = false;
    bool stopping = false;
    long long generation = 0;
    // Recovery of a failed pool: attempts since it was last ready (the backoff's attempt), when
    // the next one is due, and how many times the pool was started (a recovery scheduled before
    // a later start is void).
    int recoveries = 0;
    std::optional<std::chrono::steady_clock::time_point> retry_at;
    uint64_t starts = 0;
    std::vector<std::shared_ptr<replica>> replicas;
    std::unique_ptr<restart_policy> policy;
    std::vector<gpu::gpu_info> gpus;
    uint64_t infer_total = 0, infer_rejected = 0, health_ok = 0, health_fail = 0;
    uint64_t slot_mismatches = 0;
    std::filesystem::path adopted_from;  // the handoff file an adopted pool came from
    // On-demand pools (cfg.on_demand): when a generation last began or ended (or the pool became
    // ready, or a request asked for it), the keep_alive a request set (replacing cfg.idle_ttl
    // until the pool unloads; negative: never), the memory its instance is estimated to hold
    // while loading or loaded, and whether a request asked for it while it was unloading.
    std::chrono::steady_clock::time_point last_used{};
    std::optional<std::chrono::milliseconds> keep_alive;
    uint64_t memory_bytes = 0;
    // Its estimate kept across unloads (reported before any load, to place loads across nodes),
    // when its current load began, and how long its last load took (start to ready).
    uint64_t need_bytes = 0;
    std::optional<std::chrono::steady_clock::time_point> load_started;
    std::chrono::milliseconds load_time{0};
    bool load_after_unload = false;
    bool from_catalog = false;  // made for a catalog model (pool_manager::sync_catalog)
    // Swap-aware scheduling (swap_rule): when it last became ready; when its load began to wait
    // for memory held by busy instances (unset when not waiting); the pool whose load it yields
    // to (it takes no new request meanwhile; empty when not yielding); after such an unload, the
    // pool that must load before this one loads again; and when a request for its model last
    // waited (queued, or refused while it yields) and when a generation last began on it.
    std::chrono::steady_clock::time_point ready_since{};
    std::optional<std::chrono::steady_clock::time_point> waiting_since;
    std::string yielding_to;
    std::string yielded_to;
    std::chrono::steady_clock::time_point wanted_at{};
    std::chrono::steady_clock::time_point began_at{};
    // Called whenever one of its slots frees (a drain waits on it).
    std::function<void()> on_slot_freed;
    // Called after each change of `state` (a reload of a failed pool waits on it).
    std::function<void()> on_state_change;

    // Whether this manager runs the pool's engine processes (an adopted engine runs elsewhere).
    bool runs_engine() const { return is_managed(cfg.engine) && !adopted; }
    int in_flight() const;
    int slots_total() const;
    int slots_free() const;
    bool yielding() const { return !yielding_to.empty(); }
    bool any_ready() const;
    // The ready replica with the most free slots; null when every slot is taken.
    std::shared_ptr<replica> pick_replica() const;
    // The model it serves: its last live replica's (a reload changes it), else the configured.
    const std::string& served_model() const;
    request_limits limits() const;
    // An on-demand pool's idle TTL now: the last request's keep_alive, else the configured one.
    std::chrono::milliseconds idle_ttl() const { return keep_alive.value_or(cfg.idle_ttl); }
};

pool_snapshot snapshot_of(const pool_entry& p);

class pool_table {
  public:
    using map = std::map<std::string, std::shared_ptr<pool_entry>, std::less<>>;

    std::shared_ptr<pool_entry> find(std::string_view id) const;
    void insert(std::shared_ptr<pool_entry> p);
    void erase(std::string_view id);
    const map& entries() const { return pools_; }
    // A copy of the entries, for loops that may wait while pools come and go.
    std::vector<std::shared_ptr<pool_entry>> all() const;

    std::vector<pool_snapshot> snapshots() const;
    // The limits of the pools that answer to `model`, folded by fold_limits; copies nothing.
    std::optional<request_limits> limits_for(std::string_view model) const;

  private:
    map pools_;
};

}  // namespace llorch::pool
