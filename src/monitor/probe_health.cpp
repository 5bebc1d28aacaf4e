#include "monitor/probe_health.h"

namespace llorch::monitor {

bool probe_health::record(bool ok, int fall, int rise) {
    if (ok) {
        bad_run_ = 0;
        ++good_run_;
        if (!healthy_ && good_run_ >= rise) {
            healthy_ = true;
            return true;
        }
    } else {
        good_run_ = 0;
        ++bad_run_;
        if (healthy_ && bad_run_ >= fall) {
            healthy_ = false;
            return true;
        }
    }
    return false;
}

}  // namespace llorch::monitor
