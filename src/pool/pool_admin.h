#pragma once
// What the pool routes (GET /v2/pools, status, health, drain, reload, the catalog) ask of the
// pools, whoever runs them: `local_pool_admin` over this process's pool_manager (pool-managerd,
// and orchestratord in the HOME profile) and orchestratord's `remote_pool_admin` over the nodes
// (CLOUD profile). With one interface each route exists once and behaves the same everywhere.
// Thread: the daemon's control io thread, like the pools themselves.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/error.h"
#include "pool/pool_manager.h"

namespace llorch::pool {

// A pool as the admin routes show it: its own snapshot and the names it answers to, and, in the
// CLOUD profile, its node and what the control plane itself knows of it.
struct pool_view {
    struct placement_facts {
        std::string node_id;
        std::string node_state;       // "online", "offline", ... ("unknown" when gone)
        bool node_available = false;  // placement may send work to the node
        int in_flight = 0;            // the control plane's own count
        int slots_free = 0;           // the control plane's own count
        bool breaker_open = false;
    };
    pool_snapshot pool;
    std::vector<std::string> models;
    std::optional<placement_facts> placement;

    // `pool_id` on one machine, `node_id/pool_id` across a cluster.
    std::string name() const { return placement ? placement->node_id + "/" + pool.id : pool.id; }
    bool ready() const {
        return pool.state == pool_state::ready && (!placement || placement->node_available);
    }
};

// The deadline when a drain request asks for none.
inline constexpr std::chrono::milliseconds default_drain_deadline{30'000};

class pool_admin {
  public:
    virtual ~pool_admin() = default;
    virtual std::vector<pool_view> list() const = 0;
    // NOT_FOUND for a pool nobody here knows.
    virtual asio::awaitable<api::api_result<pool_view>> status(std::string pool) = 0;
    // `deadline` is within [0, max_drain_deadline]: the routes check it.
    virtual asio::awaitable<api::api_result<pool_view>> drain(
        std::string pool, std::chrono::milliseconds deadline) = 0;
    // `model_ref` is not empty: the routes check it. CONFLICT while another reload runs.
    virtual asio::awaitable<api::api_result<pool_view>> reload(std::string pool,
                                                               std::string model_ref) = 0;
    // Whether the pools' model files are on this machine (the catalog shows their size).
    virtual bool files_here() const = 0;
};

}  // namespace llorch::pool
