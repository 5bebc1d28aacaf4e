#include "pool/pool_state.h"

#include <array>
#include <utility>

namespace llorch::pool {
namespace {

constexpr std::array<std::pair<pool_state, std::string_view>, 8> names = {{
    {pool_state::uninitialized, "uninitialized"},
    {pool_state::provisioning, "provisioning"},
    {pool_state::starting, "starting"},
    {pool_state::ready, "ready"},
    {pool_state::draining, "draining"},
    {pool_state::offline, "offline"},
    {pool_state::failed, "failed"},
    {pool_state::unloading, "unloading"},
}};

}  // namespace

std::string_view to_string(pool_state state) {
    for (const auto& [value, name] : names) {
        if (value == state) return name;
    }
    return "unknown";
}

std::optional<pool_state> parse_pool_state(std::string_view name) {
    for (const auto& [value, text] : names) {
        if (text == name) return value;
    }
    return std::nullopt;
}

bool can_transition(pool_state from, pool_state to) {
    using enum pool_state;
    switch (from) {
        case uninitialized:
            return to == provisioning;
        case provisioning:
            // draining: stopped before the engine started; nothing is in flight, so the drain
            // ends at once, and every stop goes through draining.
            return to == starting || to == failed || to == draining;
        case starting:
            return to == ready || to == failed || to == draining;
        case ready:
            // starting: the engine crashed or failed its liveness checks and is being restarted.
            return to == draining || to == starting || to == failed || to == unloading;
        case unloading:
            // draining: the daemon stops meanwhile.
            return to == offline || to == draining;
        case draining:
            return to == offline;
        case offline:
            return to == provisioning;
        case failed:
            // offline: the pool is stopped or removed while failed; no engine runs to drain.
            return to == provisioning || to == offline;
    }
    return false;
}

bool accepts_requests(pool_state state) { return state == pool_state::ready; }

}  // namespace llorch::pool
