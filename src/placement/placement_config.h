#pragma once
// Placement configuration: the strategy (ORCHESTRATORD_PLACEMENT_STRATEGY) and the weights of the
// hybrid score. Plain values; validated by whoever parses the configuration.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llorch::placement {

enum class placement_strategy { round_robin, least_loaded, random, weighted, hybrid };

// Accepts the configuration spellings: round-robin, least-loaded, random, weighted, hybrid
// (underscores also accepted). Empty optional for anything else.
std::optional<placement_strategy> parse_strategy(std::string_view text);
std::string_view to_string(placement_strategy s);

// score = free·(free slots / slots total) + health·(success EWMA in [0,1])
//       + latency·(latency_scale_ms / (latency_scale_ms + latency EWMA ms)) [+ affinity for the
//       session's own pool] [+ weights of preferred labels] [− spread on a node already running
//       a task of the same job]. The latency term grows with 1/latency but stays in (0,1]; a pool
//       with no observed latency yet scores 0.5 there.
struct hybrid_weights {
    double free = 1.0;
    double health = 1.0;
    double latency = 0.5;
    double affinity = 0.5;
    double spread = 0.3;  // subtracted on a node running another task of the same job
    double latency_scale_ms = 100.0;
};

// An affinity rule: for the tasks it matches (model glob and priority; empty matches any), pools
// carrying `label` are required (the others are filtered out) or preferred (`weight` is added to
// their hybrid score; a negative weight steers away). Applied by the hybrid strategy only.
struct affinity_rule {
    std::string model;     // glob over the requested model name: `*` any run, `?` one character
    std::string priority;  // "interactive" or "batch"; empty: any
    std::string label;
    bool required = false;
    double weight = 0.5;  // preferred rules only
};

// `*` matches any run of characters (also none), `?` exactly one; everything else itself.
bool glob_match(std::string_view pattern, std::string_view text);
bool rule_applies(const affinity_rule& rule, std::string_view model, std::string_view priority);

struct placement_config {
    placement_strategy strategy = placement_strategy::round_robin;
    hybrid_weights hybrid{};
    uint64_t seed = 0x6c6c6f7263680001ULL;  // random and weighted strategies; tests pin it
    double latency_alpha = 0.2;             // EWMA factor of observed latency
    double health_alpha = 0.1;              // EWMA factor of request outcomes
    std::vector<affinity_rule> rules;       // hybrid only, in the order configured
};

}  // namespace llorch::placement
