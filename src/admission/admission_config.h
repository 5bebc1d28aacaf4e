#pragma once
// Admission settings: queue capacity (ORCHESTRATORD_ADMISSION_CAPACITY), full-queue policy and
// the anti-starvation rule of the batch class.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llorch::admission {

enum class task_priority { interactive, batch };
enum class full_policy { reject, drop_lru };

std::optional<task_priority> parse_priority(std::string_view text);   // interactive | batch
std::optional<full_policy> parse_full_policy(std::string_view text);  // reject | drop-lru
std::string_view to_string(task_priority p);
std::string_view to_string(full_policy p);

struct admission_config {
    size_t capacity = 1024;
    full_policy policy = full_policy::reject;
    // Anti-starvation: after this many consecutive interactive dispatches while a batch task
    // waits, the next dispatch is the oldest batch task that can be served. Values below 1 count
    // as 1.
    uint32_t batch_every = 4;
};

}  // namespace llorch::admission
