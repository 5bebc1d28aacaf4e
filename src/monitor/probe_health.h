#pragma once
// Health of one upstream from its probes, with hysteresis as HAProxy does it:
//
//     healthy ──(fall consecutive failures)──► unhealthy ──(rise consecutive successes)──► healthy
//
// A good probe while healthy, or a failed one while unhealthy, only resets the opposite run. A
// value type, owned by whoever keeps the upstream's stats; no clock (the caller keeps times).

#include <cstdint>

namespace llorch::monitor {

class probe_health {
  public:
    // Records one probe; true when the verdict changed with it.
    bool record(bool ok, int fall, int rise);
    bool healthy() const { return healthy_; }
    int good_run() const { return good_run_; }
    int bad_run() const { return bad_run_; }

  private:
    bool healthy_ = true;
    int good_run_ = 0;
    int bad_run_ = 0;
};

}  // namespace llorch::monitor
