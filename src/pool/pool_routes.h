#pragma once
// The pool routes, written once for every daemon and profile over a pool_admin:
//
//   GET  /v2/pools                    every pool (CLOUD: across nodes, named node_id/pool_id)
//   GET  /v2/pools/{id}/status        everything known about the pool
//   GET  /v2/pools/{id}/health        {live, ready, draining, metrics, last_error}
//   POST /v2/pools/{id}/drain         {deadline_ms}: an integer in [0, 24 h], default 30 s → 202
//   POST /v2/pools/{id}/reload        {new_model_ref}: not empty → 200, 409 while one runs
//   /v2/catalog/...                   catalog_routes.h, over the pools and the files
//
// Handlers parse, call the admin, map its error, reply. Thread: the daemon's control io thread.

#include <memory>

#include <boost/json/object.hpp>

#include "http/router.h"
#include "pool/catalog_admin.h"
#include "pool/pool_admin.h"

namespace llorch::pool {

// `files` (may be null: the catalog shows the pools only) backs the catalog routes.
void add_pool_routes(http::router& routes, std::shared_ptr<pool_admin> admin,
                     std::shared_ptr<catalog_admin> files = nullptr);

// A pool of GET /v2/pools and GET /v2/pools/{id}/status: the snapshot's JSON, and in the CLOUD
// profile its cluster-wide id, node and the control plane's own counts.
boost::json::object to_json(const pool_view& v);

}  // namespace llorch::pool
