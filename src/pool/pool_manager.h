#pragma once
// The pool manager: every pool of this node, their engine processes and their supervision.
// The same object runs inside pool-managerd and, in the HOME profile, inside orchestratord.
// A facade: the parts live in pool_table (state), provisioner (checks), engine_launcher
// (processes), replica_monitor (supervision), handoff_adopter, replica_stream and pool_metrics;
// pool_runtime is what they share.
//
// Owns: pools (config, lifecycle state, replicas = engine processes), slot accounting (its own
// count of in-flight generations per replica), restart policy, handoff files, engine logs, and a
// small thread pool for blocking work (fork/exec, GPU discovery, log rotation).
// Thread: everything runs on the io_context given at construction; callers must be on it too.
// Nothing here blocks that thread: an engine's exit is awaited through its pidfd.
// Lifecycle: construct → start() → ... → co_await stop(); stop() drains and stops every engine
// and returns once they exited.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "api/error.h"
#include "catalog/catalog_entry.h"
#include "common/backoff.h"
#include "common/metrics.h"
#include "engines/engine_adapter.h"
#include "engines/generation.h"
#include "gpu/gpu_inventory.h"
#include "pool/device_memory.h"
#include "pool/pool_config.h"
#include "pool/pool_state.h"
#include "pool/request_limits.h"
#include "pool/restart_policy.h"

namespace llorch::http {
class client;
}

namespace llorch::pool {
namespace asio = boost::asio;

// Models loaded on demand: the settings of the pools made for catalog models (serve_catalog),
// and the memory an on-demand load may count on (docs/models.md).
struct on_demand_options {
    // Every model of the node's catalog gets an on-demand pool (a daemon with a models folder
    // and no [[pools]]); pools of the configuration serve their models as configured.
    bool serve_catalog = false;
    int slots = 2;
    int ctx = 4096;  // per request; cut to the model's training context when that is smaller
    std::chrono::milliseconds idle_ttl{std::chrono::minutes(5)};
    // What the on-demand instances on the CPU may hold in all; 0: the machine's memory.
    uint64_t memory_budget_bytes = 0;
    // How often idle pools are looked at, and the least idle time before an unload for TTL
    // (keep_alive 0 unloads when the request ends, without it).
    std::chrono::milliseconds sweep_interval{250};
    std::chrono::milliseconds min_idle{1'000};
    // Swap-aware scheduling (swap_rule, docs/models.md): how long busy instances holding the
    // memory a load waits for keep taking new requests before they yield to it.
    std::chrono::milliseconds swap_wait{3'000};
};

struct manager_options {
    std::filesystem::path runtime_dir = "/tmp/llama-orch";
    std::chrono::milliseconds health_interval{2'000};  // liveness probe of each engine
    int health_failures_before_restart = 3;
    std::chrono::milliseconds ready_timeout{180'000};  // engine start → /health ok
    std::chrono::milliseconds stall_timeout{30'000};   // no byte from the engine → DECODE_TIMEOUT
    std::chrono::milliseconds request_timeout{30'000};  // engine's response head
    std::chrono::milliseconds watch_interval{1'000};    // handoff dir polling and safety scans
    std::chrono::milliseconds gpu_discovery_interval{10'000};
    // Handoff files in runtime_dir: this manager writes `<pool_id>.json` for each of its ready
    // pools, and (watch_handoffs) adopts as a ready pool the engine a file for any other pool id
    // announces, once that engine answers its health check. auto_delete_handoff removes adopted
    // files once processed, never the manager's own.
    bool auto_delete_handoff = false;
    bool watch_handoffs = true;
    restart_policy_config restart;
    // A failed pool (model missing, start failed, crash loop) provisions and starts again by
    // itself after this backoff (full jitter, doubling from base up to cap); the attempt count
    // starts over once the pool was ready.
    common::backoff_config recovery{.base = std::chrono::milliseconds(1'000),
                                    .factor = 2.0,
                                    .cap = std::chrono::milliseconds(60'000)};
    size_t log_rotate_bytes = 16u << 20;
    std::string node_id;
    on_demand_options on_demand;
};

// What the API shows of a pool (GET /v2/pools/{id}/status) and heartbeats report.
struct pool_snapshot {
    std::string id;
    std::string name;  // model name requests use
    std::vector<std::string> aliases;
    std::vector<std::string> labels;  // placement labels from the pool's configuration
    std::string model;                // model file or remote model id
    std::string engine;               // "llamacpp", ...
    std::string device;               // "cpu", "gpu:0"
    pool_state state = pool_state::uninitialized;
    std::string last_error;
    int restarts = 0;
    int slots_total = 0;
    int slots_free = 0;
    int in_flight = 0;
    int ctx = 0;
    int max_tokens_default = 0;
    int max_tokens_cap = 0;
    int replicas = 0;
    std::vector<long> pids;
    std::vector<std::string> endpoints;
    bool adopted = false;  // found through a handoff file, not started here
    bool reloading = false;
    // An on-demand pool that yields its memory to another model's load (swap-aware scheduling):
    // ready, but it takes no new request (slots_free reads 0).
    bool yielding = false;
    uint64_t vram_total_bytes = 0;
    uint64_t vram_free_bytes = 0;
    std::vector<gpu::gpu_info> gpus;
    long long generation = 0;    // increases on every successful reload
    long long retry_in_ms = -1;  // a failed pool: when it tries to start again by itself; -1 none
    int engine_slots_busy = -1;  // the engines' own count at the last probe; -1 unknown
    // Ollama / OpenAI-compatible servers: the models the server listed at its last probe.
    std::vector<std::string> upstream_models;
    int weight = 0;           // the configured placement weight (`weighted` strategy); 0: by slots
    bool embeddings = false;  // answers embedding requests too (pool_config::embeddings)
    // On-demand pools: loaded on request, unloaded after idle_ttl_ms without a request (-1:
    // never); expires_in_ms counts down while it is loaded and idle (-1: not counting); the
    // memory its instance is estimated to hold while loading or loaded; the estimate whether
    // loaded or not (0 until made); how long its last load took (0: none yet).
    bool on_demand = false;
    long long idle_ttl_ms = -1;
    long long expires_in_ms = -1;
    uint64_t memory_bytes = 0;
    uint64_t need_bytes = 0;
    long long load_ms = 0;
};

// One generation running on an engine replica. Holds the replica's slot until destroyed.
class infer_stream {
  public:
    virtual ~infer_stream() = default;
    // The next decoded event; std::nullopt after the end or error event.
    virtual asio::awaitable<std::optional<engines::engine_event>> next() = 0;
    // The client went away: drop the engine connection (the engine frees its slot).
    virtual void cancel() = 0;
    virtual const std::string& pool_id() const = 0;
    virtual const std::string& model_name() const = 0;
};

class engine_launcher;

// The longest drain deadline: the routes refuse a longer one (400), and pool_manager::drain cuts
// a longer one to it, so that no deadline overflows a clock.
inline constexpr std::chrono::milliseconds max_drain_deadline{std::chrono::hours(24)};

class pool_manager {
  public:
    pool_manager(asio::io_context& io, manager_options opts, std::vector<pool_config> pools,
                 std::shared_ptr<gpu::gpu_inventory> gpus);
    // With another way of starting engines than processes (tests start fake engines).
    pool_manager(asio::io_context& io, manager_options opts, std::vector<pool_config> pools,
                 std::shared_ptr<gpu::gpu_inventory> gpus,
                 std::shared_ptr<engine_launcher> launcher);
    ~pool_manager();
    pool_manager(const pool_manager&) = delete;
    pool_manager& operator=(const pool_manager&) = delete;

    // Provisions and starts every pool in the background; returns at once.
    void start();
    // Drains every pool (in-flight work finishes up to `deadline`), stops engines, removes
    // handoff files.
    asio::awaitable<void> stop(std::chrono::milliseconds deadline);

    // Takes a slot on the replica with the most free slots, or says why not:
    // POOL_UNAVAILABLE (no free slot, with retry_after_ms), POOL_UNREADY, NOT_FOUND.
    api::api_result<std::unique_ptr<infer_stream>> begin_infer(const std::string& pool_id,
                                                               engines::generation_request g);

    std::vector<pool_snapshot> list() const;
    // Each device's memory as on-demand loads see it (device_memory.h): the node's reports.
    std::vector<device_report> memory() const;
    // The request limits over the pools that answer to `model` (as model_names names them),
    // folded by fold_limits. Copies nothing: it runs for every submitted task.
    using request_limits = pool::request_limits;
    std::optional<request_limits> limits_for(std::string_view model) const;
    std::optional<pool_snapshot> status(const std::string& pool_id) const;
    bool has_pool(const std::string& pool_id) const;

    // Stops taking requests; in-flight ones finish up to `deadline` (at most max_drain_deadline:
    // longer ones are cut to it), then the engines stop.
    api::api_result<void> drain(const std::string& pool_id, std::chrono::milliseconds deadline);
    // Starts engines on `new_model_ref` (a GGUF path); the old ones serve until the new ones are
    // ready, then retire. CONFLICT while another reload of the pool runs; on failure the old
    // engines stay and the error says why. A failed or drained (offline) pool starts again on
    // `new_model_ref` and the call returns once it is ready or failed again; POOL_UNREADY while
    // the pool is provisioning, starting or draining.
    asio::awaitable<api::api_result<pool_snapshot>> reload(std::string pool_id,
                                                           std::string new_model_ref);

    // Called whenever a slot frees or a pool's readiness changes (the HOME dispatcher waits on it).
    void on_capacity_change(std::function<void(const std::string& pool_id)> cb);
    // Hears each health probe of a ready pool's engine (and the first good one of a starting
    // replica): the control plane's server monitor. Called on the io thread.
    void on_probe(std::function<void(const std::string& pool_id, bool ok)> cb);

    // Reports this manager's pools, handoff files processed
    // (pool_handoff_files_processed_total{pool_id,outcome}: adopted, malformed, unreachable,
    // not_ready, conflict) and its GPUs into `registry` whenever it renders; the manager
    // outlives every render.
    void add_metrics(common::metrics_registry& registry) const;

    // The engine's token count of `text` on a ready replica of the pool (llama-server's
    // /tokenize); nullopt when the pool cannot say (not ready, another engine kind, an error).
    asio::awaitable<std::optional<int>> count_tokens(std::string pool_id, std::string text);

    // On-demand models (docs/models.md). A request for `model` is coming: an on-demand pool
    // answering to it loads when it is not loaded (shared by every request until it is ready),
    // its idle clock starts over, and `keep_alive` (negative: never unload; 0: unload when the
    // request ends) replaces its idle TTL until it unloads. What is loading, or nullopt when no
    // on-demand pool answers to `model` (a fixed pool's, or an unknown model).
    struct load_answer {
        std::string pool_id;
        bool loading = false;  // not ready yet: the request waits for the load
    };
    std::optional<load_answer> ensure_loaded(std::string_view model,
                                             std::optional<std::chrono::milliseconds> keep_alive);
    // Requests for `model` wait (queued) and no pool can take them now: an on-demand pool
    // answering to it that is not loaded loads (after the unload in progress, if any), and one
    // that yields its memory to another model's load (swap-aware scheduling) loads again once
    // it left. Its idle instances are evicted after the ones nobody waits for.
    void want(std::string_view model);
    // A failed on-demand pool answering to `model` becomes unloaded again, so that the next
    // request tries the load anew rather than failing on the old error.
    void revive(std::string_view model);
    // Why the on-demand pools answering to `model` failed to load; empty when none did.
    std::string load_failure(std::string_view model) const;
    // Unloads the on-demand pools answering to `model`: an idle one at once, a busy one when its
    // last request ends. The pools concerned; NOT_FOUND when no on-demand pool answers to it.
    api::api_result<std::vector<pool_snapshot>> unload(std::string_view model);
    // With serve_catalog: an on-demand pool for every catalog model no pool serves yet; the
    // pools of models gone from the catalog leave once unloaded. Called at every catalog change.
    void sync_catalog(const std::vector<catalog::catalog_entry>& entries);

    struct impl;

  private:
    std::shared_ptr<impl> impl_;
};

}  // namespace llorch::pool
