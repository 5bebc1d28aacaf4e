#pragma once
// orchestratord's one route table, built once at start-up for its profile (the routes are listed
// in orchestratord_routes.cpp):
//
//   client_api    /v2/tasks..., /v2/sessions/{id}, /v2/meta/..., /health, /ready, /metrics
//   job_api       /v2/jobs... (when a job service is given)
//   compat_api    /v1/chat/completions, /v1/completions, /v1/models, /api/generate, /api/chat,
//                 /api/tags
//   pool_routes   /v2/pools..., /v2/catalog/... over the local pools (HOME) or the nodes (CLOUD)
//   node_api      /v2/nodes... (CLOUD only)
//   cluster_monitor  /v2/events (live cluster events)
//   servers_api   /v2/servers (the server monitor)
//   dashboard_routes /, /ui/... (the web dashboard, for browsers)
//
// Everything named in orchestratord_services outlives the router.

#include <memory>
#include <string>

#include "http/router.h"
#include "orchestrator/cloud_backend.h"
#include "orchestrator/cluster_monitor.h"
#include "orchestrator/job_service.h"
#include "orchestrator/servers_service.h"
#include "orchestrator/task_service.h"
#include "placement/placement_index.h"
#include "pool/catalog_admin.h"
#include "pool/pool_manager.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {

struct orchestratord_services {
    task_service* tasks = nullptr;
    job_service* jobs = nullptr;                        // /v2/jobs...
    const common::metrics_registry* metrics = nullptr;  // served at /metrics
    placement::placement_index* index = nullptr;
    pool::pool_manager* local_pools = nullptr;         // HOME profile
    std::shared_ptr<pool::catalog_admin> local_files;  // HOME profile: its model files
    registry::node_registry* nodes = nullptr;          // CLOUD profile
    cloud_backend* remote = nullptr;                   // CLOUD profile
    std::vector<std::string> cors_origins;  // allowed besides loopback ones (compat_http.h)
    cluster_monitor* events = nullptr;      // GET /v2/events; given the pool listing here
    servers_service* servers = nullptr;     // GET /v2/servers; heartbeats feed it (CLOUD)
};

http::router orchestratord_routes(const orchestratord_services& s);

}  // namespace llorch::orchestrator
