#include "monitor/error_window.h"

#include <algorithm>

namespace llorch::monitor {

error_window::error_window(std::chrono::milliseconds window, int buckets)
    : bucket_len_(std::max<std::chrono::steady_clock::duration>(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(window) /
              std::max(buckets, 1),
          std::chrono::steady_clock::duration(1))),
      ring_(static_cast<size_t>(std::max(buckets, 1))) {}

int64_t error_window::epoch_of(time_point t) const {
    return static_cast<int64_t>(t.time_since_epoch() / bucket_len_);
}

bool error_window::live(const bucket& b, int64_t now_epoch) const {
    return b.epoch >= 0 && now_epoch - b.epoch < static_cast<int64_t>(ring_.size());
}

void error_window::add(bool failed, time_point now) {
    const int64_t e = epoch_of(now);
    auto& b = ring_[static_cast<size_t>(e % static_cast<int64_t>(ring_.size()))];
    if (b.epoch != e) b = bucket{.epoch = e};
    ++b.requests;
    if (failed) ++b.failures;
}

uint64_t error_window::requests(time_point now) const {
    const int64_t e = epoch_of(now);
    uint64_t n = 0;
    for (const auto& b : ring_)
        if (live(b, e)) n += b.requests;
    return n;
}

uint64_t error_window::failures(time_point now) const {
    const int64_t e = epoch_of(now);
    uint64_t n = 0;
    for (const auto& b : ring_)
        if (live(b, e)) n += b.failures;
    return n;
}

double error_window::rate(time_point now) const {
    const auto r = requests(now);
    return r == 0 ? 0.0 : static_cast<double>(failures(now)) / static_cast<double>(r);
}

}  // namespace llorch::monitor
