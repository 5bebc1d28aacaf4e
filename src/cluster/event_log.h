#pragma once
// The recent cluster events as encoded SSE frames, numbered from 1, in a ring bounded by a count
// and a byte budget: every reader follows it with a cursor (the next number it wants), so a
// reader costs one integer however many events go by. A reader whose cursor fell out of the ring
// (a slow reader) is told so (`reader_behind`) and is cut off; it never makes the log grow.
//
// Plain state, no I/O. Owned by the cluster monitor; used on the control plane's thread only.

#include <cstdint>
#include <deque>
#include <string>

#include "cluster/cluster_error.h"

namespace llorch::cluster {

struct event_log_limits {
    size_t max_events = 4096;
    size_t max_bytes = 4u << 20;
};

class event_log {
  public:
    explicit event_log(event_log_limits limits = {}) : limits_(limits) {}

    // Appends one frame; returns its number. The oldest frames go beyond the limits.
    uint64_t append(std::string frame);
    // The number the next frame will get: a new reader's cursor.
    uint64_t next_seq() const { return first_seq_ + frames_.size(); }
    // The oldest number still held.
    uint64_t first_seq() const { return first_seq_; }

    // Frames from `cursor` on, concatenated up to about `max_bytes` (at least one frame), and
    // the cursor moved past them; an empty string when the reader is up to date;
    // `reader_behind` when frames the reader has not seen were dropped.
    cluster_result<std::string> read(uint64_t& cursor, size_t max_bytes = 64 * 1024) const;

    size_t size() const { return frames_.size(); }
    size_t bytes() const { return bytes_; }

  private:
    event_log_limits limits_;
    std::deque<std::string> frames_;
    uint64_t first_seq_ = 1;
    size_t bytes_ = 0;
};

}  // namespace llorch::cluster
