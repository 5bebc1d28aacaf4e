#pragma once
// load_choice: where a model served on demand should load next across the cluster, if
// anywhere. The control plane asks when a task for the model arrives; the inputs are what nodes
// reported of their on-demand pools of the model (state, estimated memory, last measured load
// time) and of their devices' memory, and the model's demand (free slots of its loaded
// instances, tasks waiting, mean generation time).
//
// The rule (docs/models.md): an instance already loaded with a free slot wins (no load); a load
// already under way is shared; otherwise the sites are ranked by tier — the model fits the free
// memory of a node where it is staged, then fits once idle instances there are evicted, then
// fits only once busy instances finish — and within a tier by cold-start cost (the load time
// measured for that model on that node, else an estimate from its size, plus the evictions),
// then by free memory. While loaded instances of the model are busy, a load starts only when its
// cold start is shorter than the expected wait for those instances (tasks waiting × mean
// generation time ÷ their slots).
//
// Pure: figures in, a choice out; no clock, no I/O. Cost: O(n log n) in the sites.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::placement {

enum class load_choice_errc {
    never_fits,  // every site's device is smaller than the model's estimated memory
};

using load_choice_error = common::module_error<load_choice_errc>;
template <class T>
using load_choice_result = boost::system::result<T, load_choice_error>;

// An on-demand pool of the model on some node, not loaded there (unloaded, never loaded, or
// loading), with the memory of the device it would load on.
struct load_site {
    std::string node_id;
    std::string pool_id;
    bool loading = false;                    // provisioning or starting already
    uint64_t need_bytes = 0;                 // the node's estimate for an instance; 0: unknown
    uint64_t free_bytes = 0;                 // the device's free memory at the node's last report
    uint64_t evictable_bytes = 0;            // held there by idle instances that may be unloaded
    uint64_t total_bytes = 0;                // the device's memory in all; 0: unknown
    std::chrono::milliseconds load_time{0};  // the last measured cold start there; 0: none yet
};

struct load_demand {
    int loaded_slots = 0;  // slots of the model's ready instances, busy or free
    int free_slots = 0;    // of those, free now
    size_t waiting = 0;    // tasks waiting for the model, the new one included
    std::chrono::milliseconds service_time{1'000};  // mean generation time
};

enum class load_tier { fits = 0, evicts = 1, waits = 2 };

struct load_decision {
    std::string node_id;
    std::string pool_id;
    load_tier tier = load_tier::fits;
    std::chrono::milliseconds cold_start{0};  // the cost it was ranked by
};

// The cold start counted for a site: its measured load time, else 1 s plus its memory at
// 1 GiB/s; plus 500 ms when idle instances must be unloaded first.
std::chrono::milliseconds cold_start_cost(const load_site& s, load_tier tier);
// The tier of a site; nullopt when the model can never fit its device.
std::optional<load_tier> tier_of(const load_site& s);

// nullopt: start no load (a free slot, a load under way, or waiting for the loaded instances is
// cheaper). never_fits names the model's memory when no site's device can ever hold it.
load_choice_result<std::optional<load_decision>> choose_load(const load_demand& demand,
                                                             const std::vector<load_site>& sites);

}  // namespace llorch::placement
