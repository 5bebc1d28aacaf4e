#pragma once
// The CLOUD profile's pool_admin: the pools of every registered node. The listing joins what
// each node last reported of its pools (registration or heartbeat, kept here) with the control
// plane's own view from the placement index (node state, in-flight count, breaker); status,
// health, drain and reload go to the node that owns the pool, with the service token, and its
// answer comes back decoded with the same codec, so every profile shows the same shapes.
// Owner: orchestratord's route table, shared by the node routes (which feed it) and the pool
// routes. Thread: the control plane's io thread.

#include <map>
#include <string>
#include <vector>

#include "orchestrator/cloud_backend.h"
#include "placement/placement_index.h"
#include "pool/node_report.h"
#include "pool/pool_admin.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {
namespace asio = boost::asio;

// A node's error answer as our own error: its code and message (so the same status), else
// UPSTREAM_FAILED.
api::error node_error(int status, const std::string& body);

class remote_pool_admin final : public pool::pool_admin {
  public:
    remote_pool_admin(registry::node_registry& reg, const placement::placement_index& index,
                      cloud_backend& backend);

    // The node's pools as its registration or latest heartbeat reported them (replacing any
    // earlier report), once the registry has accepted the message.
    void remember(const std::string& node_id, const std::vector<pool::reported_pool>& pools);
    void forget(const std::string& node_id);

    std::vector<pool::pool_view> list() const override;
    asio::awaitable<api::api_result<pool::pool_view>> status(std::string pool) override;
    asio::awaitable<api::api_result<pool::pool_view>> drain(
        std::string pool, std::chrono::milliseconds deadline) override;
    asio::awaitable<api::api_result<pool::pool_view>> reload(std::string pool,
                                                             std::string model_ref) override;
    bool files_here() const override { return false; }

  private:
    pool::pool_view view_of(const placement::pool_entry& e) const;
    // Sends `method /v2/pools/<node's pool id><suffix>` to the owner of `pool` (a cluster-wide
    // name or a bare pool id) and decodes the pool in its answer.
    asio::awaitable<api::api_result<pool::pool_view>> call_owner(std::string pool,
                                                                 std::string method,
                                                                 std::string suffix,
                                                                 std::string body);

    registry::node_registry& reg_;
    const placement::placement_index& index_;
    cloud_backend& backend_;
    std::map<std::string, pool::reported_pool> reported_;  // by "node_id/pool_id"
};

}  // namespace llorch::orchestrator
