#pragma once
// What `llorch top` shows, kept from the events of GET /v2/events (the snapshot, then task,
// queue, pool, node and stats events) and drawn as a screen of text: the figures, nodes, pools,
// queue, running tasks and recent errors. No I/O: cmd_top feeds it and writes the screen.

#include <cstddef>
#include <deque>
#include <map>
#include <string>

#include <boost/json/object.hpp>

namespace llorch::cli {

class top_view {
  public:
    // One event of the stream; false for a `cut_off` (the reader must reconnect).
    bool apply(const std::string& type, const boost::json::object& data);
    // The screen, `width` columns wide at most; `now_ms` ages the heartbeats.
    std::string render(size_t width, long long now_ms) const;
    bool has_snapshot() const { return has_snapshot_; }

  private:
    bool has_snapshot_ = false;
    std::string profile_;
    std::map<std::string, boost::json::object> nodes_, pools_, running_;
    std::deque<boost::json::object> errors_;  // newest first
    boost::json::object queue_, stats_;
};

}  // namespace llorch::cli
