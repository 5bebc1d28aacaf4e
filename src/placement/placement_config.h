#pragma once
// Placement configuration: the strategy (ORCHESTRATORD_PLACEMENT_STRATEGY) and the weights of the
// hybrid score. Plain values; validated by whoever parses the configuration.

#include <cstdint>
#include <optional>
#include <string_view>

namespace llorch::placement {

enum class placement_strategy { round_robin, least_loaded, random, weighted, hybrid };

// Accepts the configuration spellings: round-robin, least-loaded, random, weighted, hybrid
// (underscores also accepted). Empty optional for anything else.
std::optional<placement_strategy> parse_strategy(std::string_view text);
std::string_view to_string(placement_strategy s);

// score = free·(free slots / slots total) + health·(success EWMA in [0,1])
//       + latency·(latency_scale_ms / (latency_scale_ms + latency EWMA ms)) [+ affinity for the
//       session's own pool]. The latency term grows with 1/latency but stays in (0,1]; a pool
//       with no observed latency yet scores 0.5 there.
struct hybrid_weights {
    double free = 1.0;
    double health = 1.0;
    double latency = 0.5;
    double affinity = 0.5;
    double latency_scale_ms = 100.0;
};

struct placement_config {
    placement_strategy strategy = placement_strategy::round_robin;
    hybrid_weights hybrid{};
    uint64_t seed = 0x6c6c6f7263680001ULL;  // random and weighted strategies; tests pin it
    double latency_alpha = 0.2;             // EWMA factor of observed latency
    double health_alpha = 0.1;              // EWMA factor of request outcomes
};

}  // namespace llorch::placement
