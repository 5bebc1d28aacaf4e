#pragma once
// The CLOUD profile's node handlers: registration, heartbeats and deregistration (routes with
// the service token), the node listing and node drain. What nodes report of their pools feeds
// the registry (placement), the backend (request limits) and the remote pool admin (the pool
// routes). Owner: the route table (shared by its handlers). Thread: the control plane's io thread.

#include <memory>

#include "http/message.h"
#include "orchestrator/cloud_backend.h"
#include "orchestrator/remote_catalog_admin.h"
#include "orchestrator/remote_pool_admin.h"
#include "orchestrator/servers_service.h"
#include "orchestrator/task_service.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {

struct cloud_context {
    registry::node_registry* reg;
    cloud_backend* backend;
    task_service* tasks;
    std::shared_ptr<remote_pool_admin> pools;
    std::shared_ptr<remote_catalog_admin> files;  // the nodes' model files
    servers_service* servers =
        nullptr;  // hears each heartbeat as a probe of the node and its pools
};

class node_api {
  public:
    explicit node_api(cloud_context c) : c_(std::move(c)) {}

    asio::awaitable<http::response> register_node(http::request q);
    asio::awaitable<http::response> heartbeat(http::request q);
    asio::awaitable<http::response> deregister(http::request q);
    asio::awaitable<http::response> list_nodes(http::request q);
    asio::awaitable<http::response> drain_node(http::request q);

  private:
    cloud_context c_;
};

}  // namespace llorch::orchestrator
