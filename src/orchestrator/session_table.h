#pragma once
// Sessions: a client's series of tasks (turns) under one session_id, with the pool its last turn
// ran on, so the next turn goes there while that pool can take it (prefix-cache reuse). A
// session not used for `ttl` is gone.
//
// Plain state, no I/O, time passed in. Owned by task_service; used on the control plane's
// thread only.

#include <chrono>
#include <string>
#include <unordered_map>

#include "orchestrator/task.h"
#include "placement/placement_request.h"

namespace llorch::orchestrator {

struct session_info {
    std::string id;
    clock::time_point last_used{};
    int turns = 0;
    placement::pool_ref pool;
    std::string pool_id, node_id;
};

class session_table {
  public:
    explicit session_table(std::chrono::milliseconds ttl) : ttl_(ttl) {}

    // nullptr when unknown or past its TTL.
    const session_info* find(const std::string& id, clock::time_point now) const;
    // A turn of session `id` was placed by `d` at `now`.
    void record_turn(const std::string& id, const placement::placement_decision& d,
                     clock::time_point now);
    bool drop(const std::string& id) { return sessions_.erase(id) > 0; }
    // Forgets the sessions past their TTL.
    void sweep(clock::time_point now);
    size_t size() const { return sessions_.size(); }

  private:
    std::chrono::milliseconds ttl_;
    std::unordered_map<std::string, session_info> sessions_;
};

}  // namespace llorch::orchestrator
