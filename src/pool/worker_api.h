#pragma once
// pool-managerd's route table over a pool_manager: /health, /ready, /metrics, the pool routes
// (pool_routes, over a local_pool_admin) and POST /v2/pools/{id}/infer, which streams one
// generation as llama-orch SSE events. Handlers run on the manager's io thread.

#include <string>

#include <memory>

#include "http/router.h"
#include "pool/catalog_admin.h"
#include "pool/pool_manager.h"

namespace llorch::pool {

struct worker_api_options {
    std::string node_id;
    std::string version = LLORCH_VERSION;
    std::shared_ptr<catalog_admin> files;  // this node's model files (catalog_service); may be null
};

// Adds every route of pool-managerd to `r`; `m` and `metrics` (served at /metrics) outlive `r`.
void add_worker_routes(http::router& r, pool_manager& m, const common::metrics_registry& metrics,
                       worker_api_options opts);

}  // namespace llorch::pool
