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

bool glob_match(std::string_view pattern, std::string_view text) {
    // Iterative matcher with one backtrack point (the last `*`): O(|pattern|·|text|) worst case.
    size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool rule_applies(const affinity_rule& rule, std::string_view model, std::string_view priority) {
    return (rule.model.empty() || glob_match(rule.model, model)) &&
           (rule.priority.empty() || rule.priority == priority);
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
