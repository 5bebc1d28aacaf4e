#pragma once
// Estimates how fast queued tasks get a slot, so the admission response can say when a task is
// likely to start and a rejected client when to come back. Built on Little's law over the live
// load: with `running` tasks holding slots and a mean slot time S taken from recent completions,
// slots free at running / S per second, so position p starts after about p × S / running.
//
// Only completions move the estimate (an EWMA of slot times, newest weighted `alpha`), so an idle
// period leaves it where the last busy period put it: idle time never lowers the rate. Before the
// first completion `initial_service` stands in.
//
// Owned by the control plane's admission service; single-threaded (io_context thread). Holds no
// clock: slot times are measured by the caller.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace llorch::admission {

struct service_rate_config {
    double alpha = 0.3;                                // weight of the newest completion
    std::chrono::milliseconds initial_service{1'000};  // slot time before any completion
    std::chrono::milliseconds min_service{1};          // floor of the mean slot time
    std::chrono::milliseconds min_retry{100};          // bounds of retry_after_ms
    std::chrono::milliseconds max_retry{30'000};
};

class service_rate_estimator {
  public:
    explicit service_rate_estimator(service_rate_config config = {});

    // A task left its slot (ended, failed or was cancelled while running) after `held` in it.
    void observe(std::chrono::nanoseconds held);
    // The mean slot time of recent completions, in seconds.
    double service_s() const { return service_s_; }
    // Tasks leaving their slots per second with `running` of them in flight (at least one).
    double rate_per_s(size_t running) const;
    // position / rate, in milliseconds; 0 for position 0.
    int64_t predicted_start_ms(size_t position, size_t running) const;
    // When a client turned away from a full queue of `queued` tasks should come back: the time
    // the queue takes to drain at the current rate, within [min_retry, max_retry].
    int64_t retry_after_ms(size_t queued, size_t running) const;

  private:
    service_rate_config config_;
    double service_s_;
    bool observed_ = false;
};

}  // namespace llorch::admission
