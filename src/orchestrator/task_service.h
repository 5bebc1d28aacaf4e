#pragma once
// What the client API's handlers call: a facade over the parts of the task service.
// - admission: submit() checks a task and pushes it into the admission queue;
// - dispatcher: binds queued tasks to pools as slots free up (dispatcher.h);
// - task_runner: one run per attempt, relaying a pool's stream into the task's log, retrying
//   before the first token (task_runner.h);
// - task_table: tasks by id, how they end, retention (task_table.h);
// - session_table: sessions and their pool affinity (session_table.h);
// - cancellation, the disconnect grace, graceful stop, and metrics (task_metrics.h).
//
// Owns all of the above and the admission queue. Uses: the placement index, a pool backend and a
// clock (real in the daemon, manual in unit tests: deadlines, grace and backoff run on it).
// Thread: the control plane's io thread. Lifecycle: start() → ... → co_await stop(deadline).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admission/admission_queue.h"
#include "admission/service_rate_estimator.h"
#include "common/clock.h"
#include "common/task_group.h"
#include "orchestrator/dispatcher.h"
#include "orchestrator/pool_backend.h"
#include "orchestrator/session_table.h"
#include "orchestrator/task.h"
#include "orchestrator/task_metrics.h"
#include "orchestrator/task_observer.h"
#include "orchestrator/task_runner.h"
#include "orchestrator/task_table.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

struct service_options {
    admission::admission_config admission;
    admission::service_rate_config rate;  // predicted_start_ms and the full queue's Retry-After
    std::chrono::milliseconds retention{300'000};  // finished tasks' events stay readable
    size_t max_retained = 20'000;
    std::chrono::milliseconds disconnect_grace{2'000};  // last reader gone → cancel after this
    int max_attempts = 3;                               // per task, before the first token
    std::chrono::milliseconds retry_base{50};           // backoff before a retry: full jitter,
    std::chrono::milliseconds retry_cap{2'000};         // doubling from base up to cap
    uint64_t retry_seed = 0x7265747279ULL;              // of that jitter (tests pin it)
    std::chrono::milliseconds session_ttl{600'000};
    std::chrono::milliseconds sweep_interval{5'000};  // retention and session expiry
    // Task type → model (`coding` → `qwen2.5-coder:32b`): a task may name a type instead.
    std::map<std::string, std::string> task_types;
};

struct admission_info {
    std::shared_ptr<task> t;
    size_t queue_position = 0;
    long long predicted_start_ms = 0;
    bool existing = false;  // the same task_id was submitted before
};

class task_service {
  public:
    // Its metrics go to `metrics` (which outlives it: a collector reads the queue on render).
    task_service(asio::io_context& io, service_options opts, placement::placement_index& index,
                 pool_backend& backend, common::metrics_registry& metrics);
    // With the clock that deadlines, the disconnect grace and retry backoff run on.
    task_service(asio::io_context& io, service_options opts, placement::placement_index& index,
                 pool_backend& backend, common::metrics_registry& metrics, common::clock& clock);
    ~task_service();

    void start();
    // Stops admitting; running tasks may finish until `deadline`, then are cancelled.
    asio::awaitable<void> stop(std::chrono::milliseconds deadline);
    bool admitting() const { return !stopping_; }

    api::api_result<admission_info> submit(task_spec spec);
    // Sets the model of a spec that names a task_type; INVALID_PARAMS naming the known types
    // for an unknown one. A spec with a model is left alone.
    api::api_result<void> resolve_task_type(task_spec& spec) const;
    // INVALID_PARAMS when the prompt is longer than the context of the model's pools. Prompts
    // that surely fit (fewer bytes than context tokens) cost nothing; longer ones are counted
    // by an engine's tokenizer where the backend has one.
    asio::awaitable<api::api_result<void>> check_prompt(const task_spec& spec);
    // Limits of the pools serving `model` (context length, max_tokens); nullopt when none does.
    std::optional<model_limits> limits(const std::string& model) const {
        return backend_.limits(model);
    }
    std::shared_ptr<task> find(const std::string& id) const;
    // Idempotent; a queued task leaves the queue, a running one stops in the engine.
    api::api_result<void> cancel(const std::string& id);
    std::optional<size_t> queue_position(const std::string& id) const;
    std::shared_ptr<http::body_stream> open_events(const std::shared_ptr<task>& t,
                                                   std::optional<long long> last_event_id,
                                                   bool verbose = false);

    const session_info* session(const std::string& id) const;
    bool drop_session(const std::string& id);

    // A pool's capacity or readiness changed: try to dispatch.
    void wake();

    // On-demand models (docs/models.md): starts loading `model` when it is not loaded (Ollama's
    // load idiom; the pool loading, or nullopt when loaded or not on demand), and unloads it
    // (NOT_FOUND when no on-demand model has that name).
    std::optional<std::string> load_model(const std::string& model,
                                          std::optional<std::chrono::milliseconds> keep_alive);
    api::api_result<void> unload_model(const std::string& model);
    // What waits for a model now (its queued tasks, the mean generation time).
    model_demand demand_for(const std::string& placement_model) const;

    // Hears of every task's moves (null: none). Set before start().
    void set_observer(task_observer* o);
    // The server monitor hears every attempt's outcome and timings (GET /v2/servers).
    void set_server_monitor(monitor::server_monitor* m) { runner_.set_monitor(m); }

    size_t queue_depth() const { return queue_.size(); }
    size_t queue_depth(admission::task_priority p) const { return queue_.size(p); }
    size_t running() const { return runner_.running(); }

  private:
    api::api_result<void> check_limits(task_spec& spec) const;
    void append_loading(task& t, const std::string& pool_id);
    std::optional<api::error> check_against_cluster(const task_spec& spec) const;
    // The dispatcher placed `t`: it runs from now on.
    void on_placed(std::shared_ptr<task> t, placement::placement_decision d);
    void on_reader_gone(task& t);
    asio::awaitable<void> cancel_after_grace(std::shared_ptr<task> t);
    asio::awaitable<void> housekeeping_loop();
    void finish(task& t, task_state s, std::optional<api::error> e = std::nullopt);
    long long predicted_start_ms(size_t position) const;
    long long retry_after_ms() const;
    // The queue and running gauges, read when /metrics renders.
    void report_metrics(common::scrape& s) const;

    asio::io_context& io_;
    common::clock& clock_;
    service_options opts_;
    placement::placement_index& index_;
    pool_backend& backend_;
    admission::admission_queue queue_;
    admission::service_rate_estimator rate_;
    task_metrics metrics_;
    task_table tasks_;
    session_table sessions_;
    dispatcher dispatcher_;
    task_runner runner_;
    asio::steady_timer sweep_timer_;
    // The dispatcher, the retention sweep and the disconnect-grace timers; stop() awaits them.
    common::task_group background_;
    task_observer* observer_ = nullptr;
    bool stopping_ = false;
    bool stopped_ = false;
};

}  // namespace llorch::orchestrator
