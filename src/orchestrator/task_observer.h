#pragma once
// Who hears of every task's moves besides its readers: the cluster monitor behind
// GET /v2/events. Called by task_service on the control plane's thread, synchronously, at the
// moment of the move; an observer must not call back into the service from these.

namespace llorch::orchestrator {

struct task;

class task_observer {
  public:
    virtual ~task_observer() = default;
    // Admitted into the queue.
    virtual void on_queued(const task& t) = 0;
    // Placed on a pool (again after a retry before its first token).
    virtual void on_started(const task& t) = 0;
    // Ended: completed, failed or cancelled (queued or running).
    virtual void on_ended(const task& t) = 0;
};

}  // namespace llorch::orchestrator
