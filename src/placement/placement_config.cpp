#include "placement/placement_config.h"

namespace llorch::placement {

std::optional<placement_strategy> parse_strategy(std::string_view text) {
    if (text == "round-robin" || text == "round_robin") return placement_strategy::round_robin;
    if (text == "least-loaded" || text == "least_loaded") return placement_strategy::least_loaded;
    if (text == "random") return placement_strategy::random;
    if (text == "weighted") return placement_strategy::weighted;
    if (text == "hybrid") return placement_strategy::hybrid;
    return std::nullopt;
}

std::string_view to_string(placement_strategy s) {
    switch (s) {
        case placement_strategy::round_robin:
            return "round-robin";
        case placement_strategy::least_loaded:
            return "least-loaded";
        case placement_strategy::random:
            return "random";
        case placement_strategy::weighted:
            return "weighted";
        case placement_strategy::hybrid:
            return "hybrid";
    }
    return "unknown";
}

}  // namespace llorch::placement
