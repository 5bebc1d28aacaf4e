#pragma once
// Estimates how many queued tasks start per second (an EWMA over fixed windows of dispatch
// counts) so the admission response can say when a task is likely to start:
// predicted_start_ms = position / rate. Until the first window with an observation has closed,
// the configured initial rate stands in; idle windows count as zero and pull the rate down.
//
// Owned by the control plane's admission service; single-threaded (io_context thread). Holds no
// clock: callers pass `now`.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace llorch::admission {

struct service_rate_config {
    std::chrono::milliseconds window{1'000};
    double alpha = 0.3;               // weight of the newest window
    double initial_rate_per_s = 1.0;  // before any observation
    double min_rate_per_s = 0.01;     // floor, so a stalled service still gives a finite figure
};

class service_rate_estimator {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    service_rate_estimator(service_rate_config config, time_point start);

    void observe(time_point now, uint32_t count = 1);  // `count` tasks started (or completed)
    double rate_per_s(time_point now) const;
    // position / rate, in milliseconds; 0 for position 0.
    int64_t predicted_start_ms(size_t position, time_point now) const;

  private:
    struct state {
        time_point window_start;
        uint64_t count = 0;
        double rate = 0.0;
        bool has_rate = false;
    };
    void roll(state& s, time_point now) const;

    service_rate_config config_;
    state state_;
};

}  // namespace llorch::admission
