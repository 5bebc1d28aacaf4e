#pragma once
// Every task the service knows, by id, and the retention of finished ones: a finished task's
// events stay readable for `retention` (late or reconnecting readers), and at most
// `max_retained` tasks are kept. finish() is the one way a task ends: it writes the terminal
// error frame, counts the outcome and wakes the readers.
//
// Plain state, no I/O, time passed in. Owned by task_service; used on the control plane's
// thread only.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/error.h"
#include "orchestrator/task.h"
#include "orchestrator/task_metrics.h"

namespace llorch::orchestrator {

class task_table {
  public:
    // `on_release` hears of each task that leaves its slot (ends while running) and how long it
    // held it.
    explicit task_table(task_metrics& metrics,
                        std::function<void(std::chrono::nanoseconds)> on_release = {})
        : metrics_(metrics), on_release_(std::move(on_release)) {}

    // `f` hears of every task finish() ends, after its terminal frame is in the log.
    void on_finish(std::function<void(const task&)> f) { on_finish_ = std::move(f); }

    std::shared_ptr<task> find(const std::string& id) const;
    void add(std::shared_ptr<task> t);
    size_t size() const { return tasks_.size(); }
    // The tasks `keep` accepts, for a change that must not run while iterating the table.
    std::vector<std::shared_ptr<task>> select(const std::function<bool(const task&)>& keep) const;

    // Ends `t` in state `s` at `now`, once; a later call does nothing. An error goes into the
    // log as the terminal `error` frame.
    void finish(task& t, task_state s, std::optional<api::error> e, clock::time_point now);

    // Forgets finished tasks in the order they ended: those past `retention`, then the oldest
    // while more than `max_retained` are kept. A task still being read is kept until a later
    // sweep finds it unread.
    void sweep(clock::time_point now, std::chrono::milliseconds retention, size_t max_retained);

  private:
    task_metrics& metrics_;
    std::function<void(std::chrono::nanoseconds)> on_release_;
    std::function<void(const task&)> on_finish_;
    std::unordered_map<std::string, std::shared_ptr<task>> tasks_;
    std::deque<std::weak_ptr<task>> ended_;  // finished tasks, in the order they ended
};

}  // namespace llorch::orchestrator
