#include "sim/slot_table.h"

namespace llorch::sim {

slot_table::slot_table(int slots) : slots_(static_cast<size_t>(slots > 0 ? slots : 1)) {}

std::optional<int> slot_table::acquire(ticket t) {
    if (auto r = running_.find(t); r != running_.end()) return r->second;
    if (queued_.count(t)) return std::nullopt;
    if (busy_ < size()) {
        for (size_t i = 0; i < slots_.size(); ++i) {
            if (!slots_[i]) {
                slots_[i] = t;
                ++busy_;
                running_.emplace(t, static_cast<int>(i));
                return static_cast<int>(i);
            }
        }
    }
    queued_.emplace(t, queue_.insert(queue_.end(), t));
    return std::nullopt;
}

std::optional<std::pair<slot_table::ticket, int>> slot_table::release(ticket t) {
    if (auto q = queued_.find(t); q != queued_.end()) {
        queue_.erase(q->second);
        queued_.erase(q);
        return std::nullopt;
    }
    auto r = running_.find(t);
    if (r == running_.end()) return std::nullopt;
    const int slot = r->second;
    running_.erase(r);
    if (queue_.empty()) {
        slots_[static_cast<size_t>(slot)].reset();
        --busy_;
        return std::nullopt;
    }
    const ticket next = queue_.front();
    queue_.pop_front();
    queued_.erase(next);
    slots_[static_cast<size_t>(slot)] = next;
    running_.emplace(next, slot);
    return std::make_pair(next, slot);
}

}  // namespace llorch::sim
