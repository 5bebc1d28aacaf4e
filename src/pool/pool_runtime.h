#pragma once
// pool_runtime: what the parts of a pool manager share — its options, the pool_table, the
// engine launcher, the HTTP client for engines, the blocking pool — and the moves that several
// parts make: a pool's state change (which also writes or removes its handoff file and tells the
// capacity listener), starting and stopping a replica, provisioning, a health probe.
//
// Owner: pool_manager, through a shared_ptr that its coroutines (monitors, adoptions, drains,
// streams) also hold. Thread: the io thread given at construction; only work spawned on
// blocking() runs elsewhere, and it must not touch the runtime. Lifecycle: lives as long as the
// manager or its last coroutine; the manager's destructor stops the blocking pool.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/task_group.h"
#include "engines/engine_adapter.h"
#include "gpu/gpu_inventory.h"
#include "pool/engine_launcher.h"
#include "pool/pool_error.h"
#include "pool/pool_manager.h"
#include "pool/pool_table.h"
#include "pool/provisioner.h"

namespace spdlog {
class logger;
}

namespace llorch::http {
class client;
}

namespace llorch::pool {
namespace asio = boost::asio;

// How long an engine may take to exit after SIGTERM before SIGKILL.
inline constexpr std::chrono::milliseconds engine_stop_grace{2'000};

engines::engine_kind_id adapter_kind(engine_kind k);

class pool_runtime : public std::enable_shared_from_this<pool_runtime> {
  public:
    pool_runtime(asio::io_context& io, manager_options opts,
                 std::shared_ptr<gpu::gpu_inventory> gpus,
                 std::shared_ptr<engine_launcher> launcher);
    ~pool_runtime();
    pool_runtime(const pool_runtime&) = delete;
    // Stops the blocking pool and waits for the work running there: after it, nothing posts to
    // the io_context from another thread. The manager's destructor calls it.
    void stop_blocking();
    pool_runtime& operator=(const pool_runtime&) = delete;

    asio::io_context& io() { return io_; }
    const manager_options& opts() const { return opts_; }
    pool_table& table() { return table_; }
    const pool_table& table() const { return table_; }
    http::client& client() { return *client_; }
    spdlog::logger& log() { return *log_; }
    const std::shared_ptr<gpu::gpu_inventory>& gpus() const { return gpus_; }
    bool stopping() const { return stopping_; }
    void set_stopping() { stopping_ = true; }
    uint64_t next_seed() { return seed_++; }

    void on_capacity_change(std::function<void(const std::string&)> cb) {
        capacity_cb_ = std::move(cb);
    }
    void notify(const std::string& pool_id);
    void on_probe(std::function<void(const std::string&, bool)> cb) { probe_cb_ = std::move(cb); }
    // A probe's outcome, for whoever listens (the control plane's server monitor).
    void probed(const std::string& pool_id, bool ok) {
        if (probe_cb_) probe_cb_(pool_id, ok);
    }
    // Called from set_state each time a pool becomes failed: the manager schedules its recovery
    // (which only starts a coroutine, so nothing re-enters set_state).
    void on_failed(std::function<void(const std::string&)> cb) { failed_cb_ = std::move(cb); }

    // Moves the pool's lifecycle (checked by can_transition); a ready pool gets its handoff
    // file, any other state loses it.
    void set_state(pool_entry& p, pool_state to, const std::string& why = {});
    // `<runtime_dir>/<pool_id>.json` for a ready pool this manager runs. Never holds the
    // engine's API key: the file is for finding the engine; all traffic goes through us.
    void write_own_handoff(pool_entry& p);
    void remove_own_handoff(pool_entry& p);

    // Checks the pool can start on `model` (provisioner, on the blocking pool); on success the
    // pool's GPUs are those of the plan.
    asio::awaitable<provision_result<provision_plan>> provision(std::shared_ptr<pool_entry> p,
                                                                std::string model);
    // Starts replica `index` of the pool on `model`; for an engine run elsewhere, the replica
    // that stands for its endpoint.
    asio::awaitable<pool_result<std::shared_ptr<replica>>> start_replica(
        std::shared_ptr<pool_entry> p, int index, std::string model, long long generation);
    // Marks the replica stopped and asks its engine to stop; returns at once.
    void stop_replica(replica& r);
    // Stops every replica of the pool and returns once their engines exited.
    asio::awaitable<void> stop_replicas(std::shared_ptr<pool_entry> p);
    // Returns once the engine exited (someone stopped it), or after its stop's grace and then
    // some: never waits forever on an engine that outlives SIGKILL (stuck in the kernel).
    asio::awaitable<void> wait_exit(std::shared_ptr<engine_process> e);
    // Whether the engine answers its health path (2 s timeout). An Ollama or OpenAI-compatible
    // server's answer lists its models (r->upstream_models): one without the replica's model
    // fails the probe.
    asio::awaitable<bool> probe(std::shared_ptr<replica> r, engine_kind kind);

    // Where blocking work runs: co_spawn a coroutine there with use_awaitable and the caller
    // resumes on the io thread with its result. The coroutine's parameters must own what it
    // touches (named functions with by-value parameters, not capturing lambdas).
    asio::thread_pool::executor_type blocking() { return blocking_.get_executor(); }
    // The pools' coroutines (runs, drains, replica monitors, adoptions, GPU refresh): the
    // manager's stop() ends with stopping them and awaiting the last.
    common::task_group& background() { return background_; }

    gpu::discovery_result last_discovery;

  private:
    asio::io_context& io_;
    manager_options opts_;
    std::shared_ptr<gpu::gpu_inventory> gpus_;
    // NVML, nvidia-smi, fork/exec and log rotation block: they run here and post back.
    asio::thread_pool blocking_{2};
    std::shared_ptr<engine_launcher> launcher_;
    std::unique_ptr<http::client> client_;
    std::shared_ptr<spdlog::logger> log_;
    pool_table table_;
    std::function<void(const std::string&)> capacity_cb_;
    std::function<void(const std::string&)> failed_cb_;
    std::function<void(const std::string&, bool)> probe_cb_;
    bool stopping_ = false;
    uint64_t seed_ = 0x51ed270b27aa5f1bull;
    common::task_group background_{io_.get_executor()};
};

// Sleeps on the current coroutine's executor.
asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

// GPU discovery, for co_spawn on the blocking pool (NVML and nvidia-smi block).
asio::awaitable<gpu::discovery_result> discover_gpus(std::shared_ptr<gpu::gpu_inventory> inventory);

}  // namespace llorch::pool
