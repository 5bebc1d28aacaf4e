#pragma once
// The CLOUD profile's control-plane API: node registration, heartbeats and deregistration (with
// the service token), the node and pool listings, node drain, and pool operations forwarded to
// the node that owns the pool.

#include "http/router.h"
#include "orchestrator/cloud_backend.h"
#include "orchestrator/task_service.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {

struct cloud_context {
    registry::node_registry* reg;
    placement::placement_index* index;
    cloud_backend* backend;
    task_service* tasks;
};

void add_node_routes(http::router& routes, cloud_context ctx);

}  // namespace llorch::orchestrator
