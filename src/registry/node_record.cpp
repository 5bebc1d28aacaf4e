#include "registry/node_record.h"

namespace llorch::registry {

std::string_view to_string(node_state s) {
    switch (s) {
        case node_state::registering:
            return "registering";
        case node_state::online:
            return "online";
        case node_state::draining:
            return "draining";
        case node_state::offline:
            return "offline";
        case node_state::failed:
            return "failed";
    }
    return "unknown";
}

}  // namespace llorch::registry
