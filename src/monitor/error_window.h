#pragma once
// Requests finished and failed over a sliding time window, in a ring of equal buckets: adding is
// O(1), reading O(buckets). A bucket older than the window counts for nothing and is reused.
// Pure: the time is passed in.

#include <chrono>
#include <cstdint>
#include <vector>

namespace llorch::monitor {

class error_window {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    error_window(std::chrono::milliseconds window, int buckets);

    void add(bool failed, time_point now);
    uint64_t requests(time_point now) const;
    uint64_t failures(time_point now) const;
    // failures ÷ requests in the window; 0 when none finished.
    double rate(time_point now) const;

  private:
    struct bucket {
        int64_t epoch = -1;  // which bucket-length interval since the clock's epoch it counts
        uint64_t requests = 0;
        uint64_t failures = 0;
    };
    int64_t epoch_of(time_point t) const;
    bool live(const bucket& b, int64_t now_epoch) const;

    std::chrono::steady_clock::duration bucket_len_;
    std::vector<bucket> ring_;
};

}  // namespace llorch::monitor
