#pragma once
// The state of one job as it runs: which tasks may start (all their dependencies completed,
// within max_parallel), their texts with the outputs of their dependencies substituted, what a
// failure skips, fail_fast, the job's deadline and cancel. Pure: the caller starts and cancels
// the tasks this returns and reports how each ended; time is passed in.
//
// Task states:
//   pending → running → completed
//      │         ├────→ failed
//      │         └────→ cancelled   (cancel, deadline, fail_fast)
//      ├──────────────→ skipped     (a dependency failed, was skipped or cancelled: `cause` says
//      which) └──────────────→ cancelled   (cancel, deadline or fail_fast before it started)
// Job states: running → completed (every task completed) | failed (some task failed or was
// skipped, fail_fast, or the deadline passed; `cause` says which) | cancelled (cancel()).
//
// Owner: the job service, one per job; used on the control plane's thread only.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job_graph.h"

namespace llorch::jobs {

using clock = std::chrono::steady_clock;

enum class task_state { pending, running, completed, failed, skipped, cancelled };
enum class job_state { running, completed, failed, cancelled };
std::string_view to_string(task_state s);
std::string_view to_string(job_state s);

struct job_options {
    size_t max_parallel = 0;                            // tasks running at once; 0: no bound
    bool fail_fast = false;                             // the first failure cancels the rest
    std::optional<std::chrono::milliseconds> deadline;  // from submission
    // Runs of a task again after its stream broke (its engine or node died mid-generation:
    // UPSTREAM_FAILED, WORKER_RESET): a dependent needs the whole output, so the partial one is
    // dropped and the task placed again. The caller applies it; 0..5 (0: a broken run fails
    // the task, as any failure).
    int task_retries = 0;
};

// What the caller must do after a change: start the tasks in `start` (their texts from
// substitute()), cancel the running tasks in `cancel`, and report the tasks in `ended` as ended
// without running (skipped or cancelled). Indexes into the graph.
struct job_step {
    std::vector<size_t> start;
    std::vector<size_t> cancel;
    std::vector<size_t> ended;
};

class job_run {
  public:
    job_run(job_graph g, job_options o, clock::time_point now);
    const job_options& options() const { return opts_; }

    // The first step: the tasks without dependencies (within max_parallel).
    job_step begin();
    // Task `i`, running, ended: completed with its output, or failed / cancelled with a cause.
    job_step complete(size_t i, std::string output);
    job_step fail(size_t i, std::string cause);
    job_step cancelled(size_t i, std::string cause);
    // Cancels the job: pending tasks end cancelled now, running ones are in `cancel`; they end
    // through cancelled(). Idempotent.
    job_step cancel(std::string cause);
    // At or after deadline(): what cancel() does, with the job failed for its deadline.
    job_step expire(clock::time_point now);
    std::optional<clock::time_point> deadline() const { return deadline_; }

    // The texts of task `i` with its dependencies' outputs in place of their placeholders;
    // too_large when the result passes max_prompt_bytes.
    jobs_result<std::vector<std::string>> substitute(size_t i) const;

    const job_graph& graph() const { return graph_; }
    task_state state(size_t i) const { return tasks_[i].state; }
    const std::string& output(size_t i) const { return tasks_[i].output; }
    const std::string& cause(size_t i) const { return tasks_[i].cause; }
    // Whether the output was cut at max_output_bytes.
    bool output_truncated(size_t i) const { return tasks_[i].truncated; }
    size_t running() const { return running_; }
    job_state state() const;
    bool finished() const { return pending_ + running_ == 0; }
    // Why the job was cancelled or failed first (empty while nothing went wrong).
    const std::string& cause() const { return cause_; }

  private:
    struct task_rec {
        task_state state = task_state::pending;
        size_t deps_left = 0;
        std::string output;
        std::string cause;
        bool truncated = false;
    };
    // Ends pending task `i` and what depends on it, transitively, as skipped.
    void skip_dependents(size_t i, job_step& s);
    void end_pending(size_t i, task_state st, std::string cause, job_step& s);
    void fill(job_step& s);
    job_step after_failure(size_t i, job_step s);
    job_step stop_all(std::string cause, bool by_client);

    job_graph graph_;
    job_options opts_;
    std::optional<clock::time_point> deadline_;
    std::vector<task_rec> tasks_;
    std::vector<size_t> ready_;  // pending with every dependency completed, in order of readiness
    size_t ready_head_ = 0;
    size_t pending_ = 0, running_ = 0;
    bool cancelling_ = false;
    bool cancelled_by_client_ = false;
    bool any_failed_ = false;
    std::string cause_;
};

}  // namespace llorch::jobs
