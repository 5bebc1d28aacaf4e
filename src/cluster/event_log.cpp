#include "cluster/event_log.h"

namespace llorch::cluster {

uint64_t event_log::append(std::string frame) {
    bytes_ += frame.size();
    frames_.push_back(std::move(frame));
    uint64_t seq = next_seq() - 1;
    while (frames_.size() > 1 &&
           (frames_.size() > limits_.max_events || bytes_ > limits_.max_bytes)) {
        bytes_ -= frames_.front().size();
        frames_.pop_front();
        ++first_seq_;
    }
    return seq;
}

cluster_result<std::string> event_log::read(uint64_t& cursor, size_t max_bytes) const {
    if (cursor < first_seq_) {
        return cluster_error{cluster_errc::reader_behind,
                             std::to_string(first_seq_ - cursor) +
                                 " events were dropped before this reader read them"};
    }
    std::string out;
    while (cursor < next_seq() && (out.empty() || out.size() < max_bytes)) {
        out += frames_[cursor - first_seq_];
        ++cursor;
    }
    return out;
}

}  // namespace llorch::cluster
