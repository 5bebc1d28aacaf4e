#pragma once
// residency: where an on-demand model may load and what must leave first. Before an engine
// starts for a model, the pool manager asks plan_load whether its estimated memory fits the
// device's free memory at that moment; when it does not, which idle instances on that device to
// unload (those no request waits for first, then least recently used first); when even that is
// not enough, whether to wait (instances that are busy or still loading hold the memory, and
// they are never evicted) or to give up because the model can never fit the device. How long a
// waiting load lets busy instances keep taking requests is swap_rule's.
//
// Pure: figures and times in, a plan out; no I/O, no clock (last use is passed in). Owner: the
// caller. Cost: O(n log n) in the instances on the device (a sort by last use).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::pool {

enum class residency_errc {
    never_fits,  // the model needs more than the device holds in all
    must_wait,   // it fits once busy or loading instances finish; nothing idle frees enough
};

using residency_error = common::module_error<residency_errc>;
template <class T>
using residency_result = boost::system::result<T, residency_error>;

// A device's memory as the placement sees it now: a GPU's free and total memory from the
// inventory, or the CPU's configured budget less what its instances are estimated to hold.
struct device_memory {
    std::string device;  // "cpu", "gpu:0"
    uint64_t free_bytes = 0;
    uint64_t total_bytes = 0;
};

// An instance (a loaded or loading on-demand model) on a device.
struct resident {
    std::string id;  // pool id
    std::string device;
    uint64_t bytes = 0;    // its estimated memory
    bool busy = false;     // a generation in flight
    bool loading = false;  // provisioning or starting
    bool pinned = false;   // a fixed pool, or keep_alive < 0: never unloaded for another
    // Requests for its model wait (queued, or refused while it yields): evicted only after the
    // idle instances nobody waits for.
    bool wanted = false;
    // It takes no new request: a load waiting for its memory asked it to (swap_rule).
    bool yielding = false;
    std::chrono::steady_clock::time_point last_used{};
    std::chrono::steady_clock::time_point ready_since{};  // when it last became ready
};

struct load_plan {
    std::string device;
    std::vector<std::string> evict;  // pool ids to unload first, least recently used first
};

// The plan to load a model needing `need_bytes` on `dev`, given the instances there:
// nothing to evict when it fits, else the idle ones to unload (the ones nobody waits for first,
// each group least recently used first); must_wait or never_fits (the message names the device
// and both figures).
residency_result<load_plan> plan_load(uint64_t need_bytes, const device_memory& dev,
                                      const std::vector<resident>& on_device);

// The device to load on: among `devices`, the one whose plan evicts nothing and has the most
// free memory; else the one that evicts the fewest bytes; else the first device's error
// (must_wait before never_fits). Empty `devices`: never_fits.
residency_result<load_plan> choose_device(uint64_t need_bytes,
                                          const std::vector<device_memory>& devices,
                                          const std::vector<resident>& residents);

}  // namespace llorch::pool
