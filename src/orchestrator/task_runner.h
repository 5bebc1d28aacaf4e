#pragma once
// The runs of placed tasks, one attempt each: open the generation on the placed pool, relay its
// events into the task's log (started, token*, metrics, end | error), report the outcome to the
// placement index. A failure before the first token sends the task back to the dispatcher after
// a jittered backoff (dispatch::retry_backoff), avoiding the pool that failed it, up to
// `max_attempts`; after the first token it is a terminal error.
//
// Owned by task_service; used on the control plane's thread only. Each run is a coroutine
// spawned by start(); wait_idle() lets stop() wait for the runs in flight.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admission/admission_queue.h"
#include "common/clock.h"
#include "dispatch/retry_backoff.h"
#include "monitor/server_monitor.h"
#include "orchestrator/dispatcher.h"
#include "orchestrator/pool_backend.h"
#include "orchestrator/task_table.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

struct runner_options {
    int max_attempts = 3;  // per task, before the first token
    std::chrono::milliseconds retry_base{50};
    std::chrono::milliseconds retry_cap{2'000};
    uint64_t seed = 0x7265747279ULL;  // of the retry jitter
};

class task_runner {
  public:
    task_runner(asio::io_context& io, common::clock& clock, runner_options opts,
                placement::placement_index& index, pool_backend& backend, task_table& tasks,
                task_metrics& metrics, dispatcher& dispatch,
                const admission::admission_queue& queue);

    // Runs one attempt of `t` on the pool `d` chose.
    void start(std::shared_ptr<task> t, placement::placement_decision d);
    size_t running() const { return running_; }
    // Where each attempt's outcome and timings go (GET /v2/servers); none: nowhere.
    void set_monitor(monitor::server_monitor* m) { monitor_ = m; }
    // Returns when no run is left or at `deadline`, whichever comes first.
    asio::awaitable<void> wait_idle(clock::time_point deadline);

  private:
    struct relay_result {
        bool completed = false;
        bool retry = false;  // failed before the first token, retriable: try another pool
        std::optional<double> ttft_ms;
    };

    asio::awaitable<void> run(std::shared_ptr<task> t, placement::placement_decision d);
    asio::awaitable<relay_result> relay(std::shared_ptr<task> t, pool::infer_stream* s,
                                        std::string engine);
    void append_started(task& t, const placement::placement_decision& d);
    void append_end(task& t, const engines::engine_event& ev);
    bool may_retry(const task& t, const api::error& e) const;
    // Back to the dispatcher after the backoff; the pool that failed is avoided unless it only
    // said it was full.
    asio::awaitable<void> retry_later(std::shared_ptr<task> t, std::string failed_pool, bool avoid);
    void run_ended();
    // The attempt on `d` ended: the server monitor hears its outcome and timings.
    void attempt_ended(const task& t, const placement::placement_decision& d,
                       monitor::request_outcome outcome, std::optional<double> ttft_ms);

    asio::io_context& io_;
    common::clock& clock_;
    runner_options opts_;
    placement::placement_index& index_;
    pool_backend& backend_;
    task_table& tasks_;
    task_metrics& metrics_;
    dispatcher& dispatch_;
    const admission::admission_queue& queue_;
    dispatch::retry_backoff backoff_;
    monitor::server_monitor* monitor_ = nullptr;
    size_t running_ = 0;
    asio::steady_timer idle_;  // cancelled when the last run ends
};

}  // namespace llorch::orchestrator
