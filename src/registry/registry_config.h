#pragma once
// Registry settings (ORCHESTRATORD_NODE_TIMEOUT_MS, ORCHESTRATORD_STALE_CHECK_INTERVAL_SECS,
// the VRAM policy, the most pools per node and the version this control plane speaks).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace llorch::registry {

struct registry_config {
    // A node is offline after max(node_timeout, 3 × its heartbeat interval) without a heartbeat.
    std::chrono::milliseconds node_timeout{30'000};
    // How often the caller runs check_stale(); a check later than twice this is a stall.
    std::chrono::milliseconds stale_check_interval{5'000};
    // A pool whose node reports less free VRAM than this fails the VRAM policy (0: no policy).
    uint64_t min_vram_free_bytes = 0;
    // A registration or heartbeat listing more pools than this is refused (413): every message of
    // a node costs time linear in its pools on the control thread, so a node may not grow it
    // without bound (ORCHESTRATORD_MAX_POOLS_PER_NODE).
    size_t max_pools_per_node = 4096;
    // Nodes must share major version (and minor while major is 0). Empty: accept any version.
    std::string control_plane_version;
};

}  // namespace llorch::registry
