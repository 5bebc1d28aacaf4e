#pragma once
// swap_rule: swap-aware scheduling of on-demand models. When a load must wait for memory held by
// busy instances of other models (residency's must_wait), those instances keep taking new
// requests for at most `swap_wait`, counted from the later of when the load began to wait and
// when the instance became ready; after that they yield: they take no new request, their
// generations in flight finish (none is cut), then residency evicts them as idle and the load
// proceeds. Requests for a yielding model wait and load it again later under the same rule, so
// a loaded model serves at least `swap_wait` before it yields to another, and two models that
// alternate on a device that holds one switch at most once per `swap_wait` window, not once per
// request. The waiting load gets the device within `swap_wait` (plus what the holder still
// needed to become ready) and the end of the generations in flight. swap_wait = 0 swaps as soon
// as another model waits (the order requests arrive in, as a naive scheduler serves them).
//
// Pure: figures and times in, a decision out; no I/O, no clock (now is passed in). Owner: the
// caller. Cost: O(n log n) in the instances on the devices (a sort by yield time).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "pool/residency.h"

namespace llorch::pool {

using swap_clock = std::chrono::steady_clock;

// When a busy instance stops taking new requests for a load waiting since `waiting_since`:
// `swap_wait` after the later of that and the instance's ready_since.
swap_clock::time_point yield_time(const resident& holder, swap_clock::time_point waiting_since,
                                  std::chrono::milliseconds swap_wait);

struct yield_plan {
    std::string device;
    // Busy instances that stop taking new requests now (those already yielding not repeated).
    std::vector<std::string> yield;
    // When the decision changes by itself: the latest yield time of the instances the load
    // needs gone (now or earlier once they yield); time_point::max() when yielding cannot free
    // enough (the rest is held by instances loading or pinned: the load just waits).
    swap_clock::time_point decide_at = swap_clock::time_point::max();
};

// For a load needing `need_bytes` on `dev` that must wait (residency::plan_load said must_wait):
// the busy instances whose memory, with the free memory, the idle instances' and the yielding
// ones', makes it fit — earliest yield time first, then least recently used — and whether their
// time has come. They yield together, once the last of them may, so that none stops serving for
// a load that still could not proceed.
yield_plan plan_yield(uint64_t need_bytes, const device_memory& dev,
                      const std::vector<resident>& on_device, swap_clock::time_point waiting_since,
                      std::chrono::milliseconds swap_wait, swap_clock::time_point now);

// Over several devices: the plan whose instances may yield first (the first device on a tie);
// an empty plan with decide_at = max when no device's can free enough.
yield_plan choose_yield(uint64_t need_bytes, const std::vector<device_memory>& devices,
                        const std::vector<resident>& residents,
                        swap_clock::time_point waiting_since, std::chrono::milliseconds swap_wait,
                        swap_clock::time_point now);

}  // namespace llorch::pool
