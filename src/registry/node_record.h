#pragma once
// What the registry stores per node: identity, liveness and the handles of its pools in the
// placement index (which holds the pools' state, so it is kept once).
//
// Node states:
//   registering ──first pool reported──► online ──drain()──► draining
//        │                                 │  ▲                  │
//        └──────────── timeout / connection failure ─────────────┘──► offline
//                                          │  └── heartbeat ◄────────────┘
//   any ──mark_failed()──► failed (until it registers again)
// Every registration (also of a known node) takes a new epoch from one registry-wide counter,
// so an event stamped with an older epoch is recognisably from a replaced registration.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "placement/pool_entry.h"

namespace llorch::registry {

using time_point = std::chrono::steady_clock::time_point;

enum class node_state { registering, online, draining, offline, failed };
std::string_view to_string(node_state s);

struct pool_report {
    std::string pool_id;
    placement::pool_state state;  // vram_ok is computed by the registry from its VRAM policy
};

struct node_registration {
    std::string node_id;
    std::string machine_id;
    std::string address;  // base URL the control plane calls, e.g. http://10.0.0.5:9200
    std::string version;
    std::chrono::milliseconds heartbeat_interval{10'000};
    std::vector<pool_report> pools;
};

struct node_pool {
    std::string pool_id;
    placement::pool_ref ref;
};

struct node_record {
    std::string node_id;
    std::string machine_id;
    std::string address;
    std::string version;
    std::chrono::milliseconds heartbeat_interval{10'000};
    node_state state = node_state::registering;
    bool drain_requested = false;  // a revived node goes back to draining, not online
    uint64_t epoch = 0;
    time_point registered_at{};
    time_point last_heartbeat{};
    std::vector<node_pool> pools;                      // in the order the node first reported them
    std::unordered_map<std::string, size_t> pool_pos;  // pool id → its place in `pools`
};

}  // namespace llorch::registry
