#pragma once
// The placement rules file (orchestratord --placement-rules FILE): task types mapped to models
// and affinity rules by label. Read once at start-up, in both profiles.
//
//   [task_types]
//   planning = "qwen2.5:14b"
//   coding = "qwen2.5-coder:32b"
//
//   [[affinity]]            # models matching *:32b run only on pools labelled big
//   model = "*:32b"
//   label = "big"
//   required = true
//
//   [[affinity]]            # interactive tasks prefer pools labelled fast
//   priority = "interactive"
//   label = "fast"
//   weight = 0.5

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "placement/placement_config.h"

namespace llorch::orchestrator {

struct placement_rules {
    std::map<std::string, std::string> task_types;  // type → model
    std::vector<placement::affinity_rule> affinity;
};

// Empty string on success; otherwise one line naming the key ("affinity[1].label: ...").
// Unknown keys and tables are errors.
std::string parse_placement_rules(std::string_view text, placement_rules& out);
// As above, from a file; messages start with the path.
std::string load_placement_rules(const std::string& path, placement_rules& out);

}  // namespace llorch::orchestrator
