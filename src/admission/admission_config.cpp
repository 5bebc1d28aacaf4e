#include "admission/admission_config.h"

namespace llorch::admission {

std::optional<task_priority> parse_priority(std::string_view text) {
    if (text == "interactive") return task_priority::interactive;
    if (text == "batch") return task_priority::batch;
    return std::nullopt;
}

std::optional<full_policy> parse_full_policy(std::string_view text) {
    if (text == "reject") return full_policy::reject;
    if (text == "drop-lru" || text == "drop_lru") return full_policy::drop_lru;
    return std::nullopt;
}

std::string_view to_string(task_priority p) {
    return p == task_priority::interactive ? "interactive" : "batch";
}

std::string_view to_string(full_policy p) {
    return p == full_policy::reject ? "reject" : "drop-lru";
}

}  // namespace llorch::admission
