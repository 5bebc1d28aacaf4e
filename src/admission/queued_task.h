#pragma once
// One task waiting for a pool, as the admission queue sees it.

#include <chrono>
#include <optional>
#include <string>

#include "admission/admission_config.h"

namespace llorch::admission {

using time_point = std::chrono::steady_clock::time_point;

struct queued_task {
    std::string task_id;
    task_priority priority = task_priority::interactive;
    std::string model;  // the model key placement understands (name, alias or path)
    time_point enqueued_at{};
    std::optional<time_point> deadline;  // must start by then, else DEADLINE_UNMET
};

}  // namespace llorch::admission
