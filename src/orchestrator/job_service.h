#pragma once
// What the job handlers call: runs jobs (DAGs of tasks, src/jobs) through the task service.
// Every task whose dependencies are done is submitted at once, with its dependencies' outputs
// substituted into its prompt, through the normal queue, placement and failover (a full queue
// is waited out: the task is submitted again after the queue's Retry-After); a coroutine
// per running task follows the task's event log (its token text is the task's output) and, when
// the task ends, moves the job on (jobs::job_run). Each job keeps its own event log for
// GET /v2/jobs/{id}/events.
//
// Owns the jobs; uses the task service (which outlives it). Thread: the control plane's io
// thread. Lifecycle: construct → submit()… → co_await stop() (before the task service stops):
// running jobs are cancelled and the followers awaited. Bounded: at most `max_active` jobs
// running, finished ones kept for `retention` and at most `max_retained`.

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/task_group.h"
#include "orchestrator/job.h"
#include "orchestrator/job_spec.h"
#include "orchestrator/task_service.h"

namespace llorch::orchestrator {

struct job_service_options {
    jobs::job_limits limits;
    size_t max_active = 64;  // jobs running at once; more are refused (429 ADMISSION_REJECT)
    std::chrono::milliseconds retention{300'000};
    size_t max_retained = 1'000;
};

class job_service {
  public:
    job_service(asio::io_context& io, job_service_options opts, task_service& tasks,
                common::clock& clock = common::real_clock::instance());
    ~job_service();

    const job_service_options& options() const { return opts_; }
    // Starts the job; the same job_id again returns the job it named (existing = true).
    struct submitted {
        std::shared_ptr<job> j;
        bool existing = false;
    };
    api::api_result<submitted> submit(job_spec spec);
    std::shared_ptr<job> find(const std::string& id) const;
    // Idempotent: pending tasks end cancelled, running ones are cancelled in the task service.
    api::api_result<void> cancel(const std::string& id);
    std::shared_ptr<http::body_stream> open_events(const std::shared_ptr<job>& j, bool tokens);
    size_t active() const { return active_; }

    asio::awaitable<void> stop();

  private:
    void apply(const std::shared_ptr<job>& j, jobs::job_step s);
    asio::awaitable<void> run_task(std::shared_ptr<job> j, size_t i);
    asio::awaitable<bool> follow_task(std::shared_ptr<job> j, size_t i);
    asio::awaitable<void> watch_deadline(std::shared_ptr<job> j);
    // Task i ended (outcome from its task, or an error before it reached the task service).
    void task_ended(const std::shared_ptr<job>& j, size_t i);
    void start_failed(const std::shared_ptr<job>& j, size_t i, api::error e);
    void cancelled_before_submit(const std::shared_ptr<job>& j, size_t i);
    void report_task_ended(job& j, size_t i);
    void maybe_end(job& j);
    void sweep();

    asio::io_context& io_;
    job_service_options opts_;
    task_service& tasks_;
    common::clock& clock_;
    std::unordered_map<std::string, std::shared_ptr<job>> jobs_;
    std::deque<std::string> ended_;  // finished jobs, in the order they ended
    size_t active_ = 0;
    bool stopping_ = false;
    common::task_group background_;
};

}  // namespace llorch::orchestrator
