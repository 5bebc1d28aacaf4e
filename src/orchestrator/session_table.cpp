#include "orchestrator/session_table.h"

namespace llorch::orchestrator {

const session_info* session_table::find(const std::string& id, clock::time_point now) const {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || now - it->second.last_used > ttl_) return nullptr;
    return &it->second;
}

void session_table::record_turn(const std::string& id, const placement::placement_decision& d,
                                clock::time_point now) {
    auto& s = sessions_[id];
    s.id = id;
    s.last_used = now;
    ++s.turns;
    s.pool = d.pool;
    s.pool_id = d.pool_id;
    s.node_id = d.node_id;
}

void session_table::sweep(clock::time_point now) {
    std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second.last_used > ttl_; });
}

}  // namespace llorch::orchestrator
