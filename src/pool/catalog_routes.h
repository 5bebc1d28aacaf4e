#pragma once
// The catalog routes, written once for every daemon and profile over a pool_admin (the pools)
// and a catalog_admin (the files; may be null, then only the pools show):
//
//   GET    /v2/catalog/models            every model: its names, engine and pools, and for the
//                                        files held, path, size, sha256, GGUF metadata, nodes
//   GET    /v2/catalog/availability      which pools serve which model and whether they are
//                                        ready; `files`: which nodes hold which file
//   POST   /v2/catalog/models            {source, name?, sha256?, node?} → 202 the job
//   GET    /v2/catalog/jobs/{id}         {job_id, state, bytes, total, rate_bytes_per_s, eta_ms,
//                                        resumes, error, model}
//   GET    /v2/catalog/jobs/{id}/events  SSE: `progress` frames, then `done` or `failed`
//   DELETE /v2/catalog/models/{name}     ?node= → 204; 409 while a pool serves it
//
// Handlers parse, call the admin, map its error, reply. Thread: the daemon's control io thread.

#include <chrono>
#include <memory>
#include <vector>

#include <boost/json/object.hpp>

#include "http/router.h"
#include "pool/catalog_admin.h"
#include "pool/pool_admin.h"

namespace llorch::pool {

struct catalog_route_options {
    // How often the event stream looks at its job.
    std::chrono::milliseconds events_poll{250};
};

void add_catalog_routes(http::router& routes, std::shared_ptr<pool_admin> pools,
                        std::shared_ptr<catalog_admin> files, catalog_route_options opts = {});

// GET /v2/catalog/models: one entry per model name, from the pools that serve it and the files
// that hold it.
boost::json::object catalog_json(const std::vector<pool_view>& pools, bool files_here,
                                 const std::vector<node_files>& files);

}  // namespace llorch::pool
