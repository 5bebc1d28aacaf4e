#pragma once
// The CLOUD profile's catalog_admin: every node's model files as its registration or latest
// heartbeat reported them (a heartbeat carries the files only when they changed), and staging,
// job and delete calls forwarded to the node that is to hold, holds, or runs them, with the
// service token. A staging request without `node` goes to the first online node (by id).
// Owner: orchestratord's route table, shared by the node routes (which feed it) and the catalog
// routes. Thread: the control plane's io thread.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/cloud_backend.h"
#include "pool/catalog_admin.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {
namespace asio = boost::asio;

class remote_catalog_admin final : public pool::catalog_admin {
  public:
    remote_catalog_admin(registry::node_registry& reg, cloud_backend& backend);

    // A node's report, once the registry accepted it: `entries` replace what the node reported
    // before; without them (an unchanged catalog) the earlier report stays.
    void remember(const std::string& node_id,
                  const std::optional<std::vector<catalog::catalog_entry>>& entries);
    void forget(const std::string& node_id);

    std::vector<pool::node_files> files() const override;
    asio::awaitable<api::api_result<boost::json::object>> stage(
        catalog::staging_request r) override;
    asio::awaitable<api::api_result<boost::json::object>> job(std::string id) override;
    asio::awaitable<api::api_result<void>> remove(std::string name, std::string node) override;

  private:
    // The node's JSON answer when it has `expect` status, its error otherwise.
    asio::awaitable<api::api_result<boost::json::value>> call(std::string node, std::string method,
                                                              std::string path, std::string body,
                                                              int expect);

    registry::node_registry& reg_;
    cloud_backend& backend_;
    std::map<std::string, std::vector<catalog::catalog_entry>> files_;  // by node id
    std::map<std::string, std::string> job_nodes_;                      // job id → node id
    std::deque<std::string> job_order_;  // the oldest job is forgotten first
};

}  // namespace llorch::orchestrator
