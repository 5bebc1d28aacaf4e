#pragma once
// A simulated engine's parallel slots and the FIFO of requests waiting for one, as llama-server
// defers a task when every slot is busy. Pure state, no I/O; owned by one sim_engine and used on
// its io thread.
//
// A request is named by a ticket. acquire() gives it a free slot or queues it; release() ends it
// wherever it is (running or still waiting) and hands the freed slot to the oldest waiter.

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace llorch::sim {

class slot_table {
  public:
    using ticket = uint64_t;

    explicit slot_table(int slots);

    // The slot the request got, or nullopt when it waits in the queue.
    std::optional<int> acquire(ticket t);
    // The request ended or its client went away. When a slot was freed and someone waits, the
    // oldest waiter gets it: returned as (ticket, slot). Unknown tickets are ignored.
    std::optional<std::pair<ticket, int>> release(ticket t);

    int size() const { return static_cast<int>(slots_.size()); }
    int busy() const { return busy_; }
    size_t waiting() const { return queue_.size(); }
    // The request in a slot, if any.
    std::optional<ticket> holder(int slot) const { return slots_[static_cast<size_t>(slot)]; }

  private:
    std::vector<std::optional<ticket>> slots_;
    int busy_ = 0;
    std::unordered_map<ticket, int> running_;  // ticket → slot
    std::list<ticket> queue_;
    std::unordered_map<ticket, std::list<ticket>::iterator> queued_;
};

}  // namespace llorch::sim
