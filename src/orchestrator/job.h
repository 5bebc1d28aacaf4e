#pragma once
// One job: its spec, the state machine that runs it (jobs::job_run), what each of its tasks
// became in the task service, and its event log of SSE frames (task_started, task_token,
// task_ended, job_ended), kept until the job is forgotten, so a reader may connect late or
// several may follow one job. Owned by job_service (shared with its readers and the coroutines
// following its tasks); used on the control plane's thread only.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/error.h"
#include "http/message.h"
#include "jobs/job_run.h"
#include "orchestrator/task.h"
#include "orchestrator/task_spec.h"

namespace llorch::orchestrator {

struct job_task {
    task_spec spec;                   // as submitted once started (placeholders substituted)
    std::shared_ptr<task> t;          // the task service's task, once submitted
    std::optional<api::error> error;  // why it failed, was cancelled or skipped
    std::string output;               // its token text so far
    clock::time_point submitted{};
    bool cancel_requested = false;  // cancelled before it reached the task service
    // Its wait before submitting again after a full queue refused it; a cancel ends it early.
    std::unique_ptr<asio::steady_timer> retry_timer;
};

struct job {
    job(asio::io_context& io, std::string id, jobs::job_run r)
        : id(std::move(id)), run(std::move(r)), deadline_timer(io), io_(io) {}
    std::string id;
    jobs::job_run run;
    std::vector<job_task> tasks;
    clock::time_point created{}, ended{};
    std::chrono::system_clock::time_point created_wall{};
    asio::steady_timer deadline_timer;
    bool ended_reported = false;

    // The log; token frames go only to readers that asked for them.
    struct frame {
        std::string text;
        bool token = false;
    };
    const std::vector<frame>& frames() const { return frames_; }
    void append(std::string text, bool token = false);
    void add_waiter(asio::steady_timer* t) { waiters_.push_back(t); }
    void remove_waiter(asio::steady_timer* t);
    asio::io_context& io() { return io_; }

  private:
    asio::io_context& io_;
    std::vector<frame> frames_;
    std::vector<asio::steady_timer*> waiters_;
};

// The SSE body of GET /v2/jobs/{id}/events: replays the log from the start, then follows it;
// ends after job_ended.
class job_reader final : public http::body_stream {
  public:
    job_reader(std::shared_ptr<job> j, bool tokens);
    ~job_reader() override;
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override;
    void on_disconnect() override;
    bool ended() const override;

  private:
    void skip_unwanted();
    std::shared_ptr<job> j_;
    size_t cursor_ = 0;
    bool tokens_ = false;
    bool disconnected_ = false;
    asio::steady_timer timer_;
};

}  // namespace llorch::orchestrator
