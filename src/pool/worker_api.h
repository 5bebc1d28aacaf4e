#pragma once
// pool-managerd's HTTP API over a pool_manager: pools, their status and health, drain, reload,
// and POST /v2/pools/{id}/infer, which streams one generation as llama-orch SSE events.
// Handlers run on the manager's io thread.

#include <string>

#include <boost/json/object.hpp>

#include "http/router.h"
#include "pool/pool_manager.h"

namespace llorch::pool {

struct worker_api_options {
    std::string node_id;
    std::string version = LLORCH_VERSION;
};

// Adds the worker routes (GET /health, /ready, /metrics, /v2/pools...) to `r`.
void add_worker_routes(http::router& r, pool_manager& m, worker_api_options opts);

// The JSON of a pool's status, shared with orchestratord's pool listing.
boost::json::object to_json(const pool_snapshot& s);

// GET /v2/catalog/models: every model the pools serve, with the names it answers to, its file,
// size, engine and the pools (`prefix` + pool id) that serve it.
boost::json::object catalog_json(const std::vector<pool_snapshot>& pools,
                                 const std::string& prefix = {});

}  // namespace llorch::pool
