#pragma once
// The lifecycle of one pool (one model served by one or more engine processes on this node), as
// reported by GET /v2/pools/{id}/status and in heartbeats. The pool runtime moves it, on the
// daemon's control thread, and checks every move with can_transition.
//
//   uninitialized → provisioning → starting → ready → draining → offline
//                     ▲  ▲             ▲          │                    │
//                     │  │             └──────────┘ engine restart     │
//                     │  └──────────────── restart / reload ───────────┘
//                     └── retry / reload ──── failed ◄── provisioning | starting | ready
//
//   and: provisioning | starting → draining   (stopped before ready; the drain ends at once)
//        failed → offline                     (stopped while failed; no engine to drain)
//        ready → unloading → offline          (an on-demand pool idle past its TTL, evicted
//                                              for another model, or unloaded on request)
//
// provisioning: checking the model file, GPUs and VRAM, choosing ports.
// starting:     engine processes launched, waiting for their health endpoints.
// ready:        serving requests.
// draining:     no new requests; in-flight ones finish up to a deadline, then engines stop.
// unloading:    an idle on-demand pool's engines stop (nothing is in flight); then offline.
// offline:      no engine runs; the pool can be provisioned again (an on-demand pool does so
//               on the next request for its model).
// failed:       could not provision, start, or keep the engine alive (crash loop); the reason
//               is kept by the owner, which retries after a capped backoff (or a reload).

#include <optional>
#include <string_view>

namespace llorch::pool {

enum class pool_state {
    uninitialized,
    provisioning,
    starting,
    ready,
    draining,
    offline,
    failed,
    unloading
};

// "uninitialized", "provisioning", ... as the API shows them.
std::string_view to_string(pool_state state);

// The inverse of to_string; nullopt for an unknown name.
std::optional<pool_state> parse_pool_state(std::string_view name);

// Whether the lifecycle allows from → to. Staying in the same state is not a transition.
bool can_transition(pool_state from, pool_state to);

// Whether a pool in this state takes new requests.
bool accepts_requests(pool_state state);

}  // namespace llorch::pool
