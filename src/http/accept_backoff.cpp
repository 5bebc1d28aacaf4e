#include "http/accept_backoff.h"

#include <algorithm>

namespace llorch::http {

accept_backoff::verdict accept_backoff::failed(time_point now) {
    wait_ = wait_.count() == 0 ? first_wait : std::min(wait_ * 2, max_wait);
    ++unreported_;
    verdict v{wait_};
    if (!reported_ || now - last_report_ >= report_every) {
        v.report = true;
        v.failures = unreported_;
        reported_ = true;
        last_report_ = now;
        unreported_ = 0;
    }
    return v;
}

}  // namespace llorch::http
