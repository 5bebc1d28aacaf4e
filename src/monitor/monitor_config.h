#pragma once
// The server monitor's settings: probe hysteresis (HAProxy's `fall`/`rise`, same defaults), the
// weight of the latency moving averages and the error-rate window. Plain values; validate() says
// which one is out of range.

#include <chrono>

#include "monitor/monitor_error.h"

namespace llorch::monitor {

struct monitor_config {
    // An upstream is marked unhealthy after `fall` consecutive failed probes and healthy again
    // after `rise` consecutive good ones (HAProxy: fall 3, rise 2). Upstreams start healthy.
    int fall = 3;
    int rise = 2;
    // EWMA weight of the newest request: avg += alpha·(x − avg). 0.2 gives the last request a
    // fifth of the average, and the requests older than the last ten together about 11 %
    // (0.8^10); the same weight placement uses for its latency term.
    double latency_alpha = 0.2;
    // Error rate: failed ÷ finished requests over the last `error_window`, counted in
    // `window_buckets` equal buckets (so the window slides in steps of window/buckets).
    std::chrono::milliseconds error_window{60'000};
    int window_buckets = 12;
};

monitor_result<void> validate(const monitor_config& c);

}  // namespace llorch::monitor
