#pragma once
// What the client API's handlers call: admission, the dispatcher that binds queued tasks to
// pools as slots free up (woken by events, never polling), the runs that relay a pool's stream
// into a task's event log, cancellation, sessions, retention.
//
// Owns: tasks, the admission queue, sessions. Uses: the placement index and a pool backend.
// Thread: the io_context's one thread. Lifecycle: start() → ... → co_await stop(deadline).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admission/admission_queue.h"
#include "admission/service_rate_estimator.h"
#include "orchestrator/pool_backend.h"
#include "orchestrator/task.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

struct service_options {
    admission::admission_config admission;
    std::chrono::milliseconds retention{300'000};  // finished tasks' events stay readable
    size_t max_retained = 20'000;
    std::chrono::milliseconds disconnect_grace{2'000};  // last reader gone → cancel after this
    int max_attempts = 3;                               // per task, before the first token
    std::chrono::milliseconds retry_base{50};
    std::chrono::milliseconds session_ttl{600'000};
};

struct admission_info {
    std::shared_ptr<task> t;
    size_t queue_position = 0;
    long long predicted_start_ms = 0;
    bool existing = false;  // the same task_id was submitted before
};

struct session_info {
    std::string id;
    clock::time_point last_used{};
    int turns = 0;
    placement::pool_ref pool;
    std::string pool_id, node_id;
};

class task_service {
  public:
    task_service(asio::io_context& io, service_options opts, placement::placement_index& index,
                 pool_backend& backend);
    ~task_service();

    void start();
    // Stops admitting; running tasks may finish until `deadline`, then are cancelled.
    asio::awaitable<void> stop(std::chrono::milliseconds deadline);
    bool admitting() const { return !stopping_; }

    expected<admission_info, api::error> submit(task_spec spec);
    // INVALID_PARAMS when the prompt is longer than the context of the model's pools. Prompts
    // that surely fit (fewer bytes than context tokens) cost nothing; longer ones are counted
    // by an engine's tokenizer where the backend has one.
    asio::awaitable<expected<void, api::error>> check_prompt(const task_spec& spec);
    std::shared_ptr<task> find(const std::string& id) const;
    // Idempotent; a queued task leaves the queue, a running one stops in the engine.
    expected<void, api::error> cancel(const std::string& id);
    std::optional<size_t> queue_position(const std::string& id) const;
    std::shared_ptr<http::body_stream> open_events(const std::shared_ptr<task>& t,
                                                   std::optional<long long> last_event_id,
                                                   bool verbose = false);

    const session_info* session(const std::string& id) const;
    bool drop_session(const std::string& id);

    // A pool's capacity or readiness changed: try to dispatch.
    void wake();

    size_t queue_depth() const { return queue_.size(); }
    size_t running() const { return running_; }
    std::string render_metrics() const;

  private:
    asio::awaitable<void> dispatch_loop();
    asio::awaitable<void> housekeeping_loop();
    asio::awaitable<void> run(std::shared_ptr<task> t, placement::placement_decision d);
    bool try_dispatch(const std::shared_ptr<task>& t);
    void finish(task& t, task_state s, std::optional<api::error> e = std::nullopt);
    void on_reader_gone(task& t);
    long long predicted_start_ms(size_t position) const;

    asio::io_context& io_;
    service_options opts_;
    placement::placement_index& index_;
    pool_backend& backend_;
    admission::admission_queue queue_;
    admission::service_rate_estimator rate_;
    std::unordered_map<std::string, std::shared_ptr<task>> tasks_;
    std::deque<std::weak_ptr<task>> ended_;  // finished tasks, in the order they ended
    std::unordered_map<std::string, session_info> sessions_;
    std::deque<std::shared_ptr<task>> parked_;  // placement said "wait" for its overrides
    asio::steady_timer wake_timer_;
    bool woken_ = false;
    bool stopping_ = false;
    bool stopped_ = false;
    size_t running_ = 0;
    // Counters for /metrics.
    uint64_t enqueued_ = 0, started_ = 0, canceled_ = 0, rejected_ = 0, completed_ = 0, failed_ = 0,
             tokens_total_ = 0, dropped_lru_ = 0, deadline_unmet_ = 0;
    std::vector<double> ttft_ms_, e2e_ms_;
};

}  // namespace llorch::orchestrator
