#pragma once
// device_memory: what the on-demand instances of a node hold on each device, and the node's
// memory as it reports it to the control plane (heartbeats) for placing loads across nodes:
// per device its free and total memory and what idle on-demand instances there could give back.
// GPU figures come from the last GPU discovery (refreshed every gpu_discovery_interval); the
// CPU's from the on-demand memory budget (--memory-budget-mib, else the machine's memory) less
// the estimates of the on-demand instances loaded or loading on it. A load itself looks again at
// that moment (on_demand.cpp); this report only ranks nodes.
//
// Thread: the pool manager's io thread. Cost: O(pools + GPUs).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "pool/pool_config.h"
#include "pool/pool_error.h"
#include "pool/pool_state.h"

namespace llorch::pool {

class pool_runtime;
struct pool_entry;

struct device_report {
    std::string device;  // "cpu", "gpu:0"
    uint64_t free_bytes = 0;
    uint64_t total_bytes = 0;
    uint64_t evictable_bytes = 0;  // held by idle on-demand instances that may be unloaded
    friend bool operator==(const device_report&, const device_report&) = default;
};

// A pool in this state holds memory (loading, loaded, unloading or draining).
bool holds_memory(pool_state s);
// The memory on-demand instances may hold on the CPU in all: the budget, else the machine's.
uint64_t cpu_memory_total(const pool_runtime& rt);
// What the on-demand instances other than `self` hold or will hold on the CPU.
uint64_t cpu_memory_held(const pool_runtime& rt, const pool_entry* self);
// Whether an instance may be unloaded to make room for another: on demand, not pinned (idle TTL
// not negative), ready with nothing in flight.
bool evictable(const pool_entry& p);
// The memory an on-demand pool's engines will hold: each replica's weights, KV cache and compute
// buffers (vram_estimate; blocking: reads the GGUF header); a sim pool's memory_mib; 0 for an
// engine without a model file.
boost::asio::awaitable<pool_result<uint64_t>> estimate_instance_memory(pool_config cfg);
// Estimates an on-demand pool's memory ahead of its first load, on the blocking pool, so that
// the node's reports carry it (pool_entry::need_bytes) before any request asked for the model.
void estimate_ahead(const std::shared_ptr<pool_runtime>& rt, const std::shared_ptr<pool_entry>& p);
// Every device on-demand instances may load on: the GPUs of the last discovery, else the CPU.
std::vector<device_report> memory_report(const pool_runtime& rt);

}  // namespace llorch::pool
