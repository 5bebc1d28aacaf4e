#pragma once
// on_demand: the moves of on-demand pools (pool_config::on_demand) inside a pool manager —
// loading one when a request asks for its model (memory estimated from the GGUF file, the
// device chosen and idle instances evicted by residency::plan_load / choose_device), unloading
// it (idle past its TTL, evicted, keep_alive 0, or on request), the idle sweep, and the pool a
// catalog model gets when the node serves its catalog (docs/models.md).
//
// Owner: pool_manager; the coroutines hold the runtime and the pool. Thread: the manager's io
// thread; the GGUF estimate and GPU discovery run on the blocking pool.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "catalog/catalog_entry.h"
#include "pool/pool_runtime.h"

namespace llorch::pool {

// Provisions the pool, starts its replicas and hands each to a monitor (pool_manager.cpp).
asio::awaitable<void> run_pool(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p);

// Starts loading an unloaded or failed on-demand pool: it is provisioning from here on, so that
// every request for its model waits on this one load.
void start_load(const std::shared_ptr<pool_runtime>& rt, const std::shared_ptr<pool_entry>& p);
// Unloads a ready on-demand pool with nothing in flight (unloading → offline): its engines stop
// and the pool answers requests again only after a new load. False when it is not idle.
bool unload_idle(const std::shared_ptr<pool_runtime>& rt, const std::shared_ptr<pool_entry>& p,
                 const std::string& why);
// Requests for `model` wait and `pools` (the on-demand pools answering to it) cannot take them:
// they count as wanted, one that yields loads again after its unload, and one not loaded loads
// (pool_manager::want).
void want_loaded(const std::shared_ptr<pool_runtime>& rt,
                 const std::vector<std::shared_ptr<pool_entry>>& pools, std::string_view model);
// Looks at every on-demand pool each sweep_interval and unloads the ones idle past their TTL.
asio::awaitable<void> idle_sweep_loop(std::shared_ptr<pool_runtime> rt);
// The on-demand pool of a catalog model: id from its name (`name`, or `name-tag` since ids
// have no ':'), name `name[:tag]` as lists show it, `name:latest` an alias; the device chosen
// at each load; slots, context (cut to the model's training context) and TTL from `o`.
pool_config catalog_pool_config(const catalog::catalog_entry& e, const on_demand_options& o);
// pool_manager::sync_catalog: an on-demand pool (catalog_pool_config) for every catalog model no
// pool serves yet; the pools of models gone from the catalog leave once unloaded.
void sync_catalog_pools(const std::shared_ptr<pool_runtime>& rt,
                        const std::vector<catalog::catalog_entry>& entries);

}  // namespace llorch::pool
