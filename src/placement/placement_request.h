#pragma once
// The input and output of one placement decision.

#include <string>
#include <vector>

#include "placement/pool_entry.h"

namespace llorch::placement {

enum class placement_mode { auto_, prefer, pin };

// The request's own `placement` object. Pool ids are `pool_id` (any node) or `node_id/pool_id`.
struct placement_overrides {
    placement_mode mode = placement_mode::auto_;
    std::string pin_pool_id;
    std::vector<std::string> prefer_pools;  // tried in order before the strategy
    std::vector<std::string> avoid_pools;   // never chosen (except as the pin target)
    bool allow_fallback = false;            // a pin that cannot be met falls back to the strategy
};

struct placement_request {
    std::string model;
    placement_overrides overrides{};
    // The pool the task's session last ran on (from the session table); invalid when none.
    pool_ref session_pool{};
    // "interactive" or "batch": selects the affinity rules that name a priority.
    std::string priority;
    // The job the task belongs to (empty: none): its tasks spread across nodes (hybrid).
    std::string job_id;
};

struct placement_decision {
    std::string node_id;  // empty in the HOME profile
    std::string pool_id;
    std::string node_address;  // empty in the HOME profile
    pool_ref pool;             // for on_dispatch / on_complete
};

}  // namespace llorch::placement
