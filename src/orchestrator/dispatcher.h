#pragma once
// The dispatcher: binds queued tasks to pools as slots free up. Woken by events (submit, cancel,
// a run ending, every capacity change), never polling; a queued task's deadline is noticed
// within 50 ms. A task whose placement overrides cannot be met now waits in a parked list, ahead
// of the queue; a task whose attempt failed before its first token comes back to the front of
// that list. A placed task is handed to `start` (task_service: bookkeeping, then a run).
//
// Owned by task_service; used on the control plane's thread only. Lifecycle: run() is spawned
// at start and returns after stop().

#include <deque>
#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admission/admission_queue.h"
#include "common/clock.h"
#include "orchestrator/pool_backend.h"
#include "orchestrator/session_table.h"
#include "orchestrator/task_table.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

// POOL_UNAVAILABLE for a task whose model has pools but none that can start (every one failed,
// offline or draining): such a task fails at once, at submit or while queued, instead of waiting.
// With `load_failure` (why an on-demand load of the model failed or cannot happen), it says that.
api::error no_pool_can_start(std::string_view model, const std::string& load_failure = {});

class dispatcher {
  public:
    using start_fn = std::function<void(std::shared_ptr<task>, placement::placement_decision)>;

    dispatcher(asio::io_context& io, common::clock& clock, admission::admission_queue& queue,
               placement::placement_index& index, pool_backend& backend, task_table& tasks,
               const session_table& sessions, task_metrics& metrics, start_fn start);

    asio::awaitable<void> run();
    void wake();
    // An attempt of `t` failed before its first token: first in line again.
    void requeue_front(std::shared_ptr<task> t);
    // `t` ended while waiting (cancel, shutdown): out of the parked list.
    void forget(const std::shared_ptr<task>& t) { std::erase(parked_, t); }
    void forget_all() { parked_.clear(); }
    void stop();

  private:
    void pass();
    void expire(clock::time_point now);
    // Ends `t` when no pool of its model can start any more; true when it did.
    bool fail_if_unstartable(task& t, clock::time_point now);
    // False when the task must keep waiting (no capacity for its overrides).
    bool try_dispatch(const std::shared_ptr<task>& t, clock::time_point now);
    placement::placement_result<placement::placement_decision> place(const task& t,
                                                                     clock::time_point now);
    void fail_placement(task& t, placement::placement_errc why, clock::time_point now);

    common::clock& clock_;
    admission::admission_queue& queue_;
    placement::placement_index& index_;
    pool_backend& backend_;
    task_table& tasks_;
    const session_table& sessions_;
    task_metrics& metrics_;
    start_fn start_;
    std::deque<std::shared_ptr<task>> parked_;  // placement said "wait" for its overrides
    asio::steady_timer wake_timer_;
    bool woken_ = false;
    bool stopped_ = false;
};

}  // namespace llorch::orchestrator
