#pragma once
// accept_backoff: how the accept loop waits after a failed accept (out of descriptors, mostly).
// The wait starts at 50 ms and doubles up to 1 s while failures go on, so a full descriptor
// table costs a few wake-ups a second rather than a busy loop; the failure is reported once, then
// at most every 10 s with the count since. A successful accept starts over. Pure: `now` is
// passed in. Owner: the server's accept loop (control thread).

#include <chrono>
#include <cstddef>

namespace llorch::http {

class accept_backoff {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::chrono::milliseconds first_wait{50};
    static constexpr std::chrono::milliseconds max_wait{1'000};
    static constexpr std::chrono::seconds report_every{10};

    struct verdict {
        std::chrono::milliseconds wait;
        bool report = false;  // log now, with `failures` (those since the last report, this one in)
        size_t failures = 0;
    };
    verdict failed(time_point now);
    void succeeded() { wait_ = std::chrono::milliseconds{0}; }

  private:
    std::chrono::milliseconds wait_{0};
    bool reported_ = false;
    time_point last_report_{};
    size_t unreported_ = 0;
};

}  // namespace llorch::http
