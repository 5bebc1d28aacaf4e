#pragma once
// What the catalog routes (GET /v2/catalog/models and /availability with the files, staging,
// jobs, delete) ask of the model files, whoever holds them: `catalog_service` over this
// process's own files (pool-managerd, orchestratord in the HOME profile) and orchestratord's
// `remote_catalog_admin` over the nodes' reports, forwarding to the node that holds or is to
// hold a file (CLOUD profile). Thread: the daemon's control io thread.

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "api/error.h"
#include "catalog/catalog_entry.h"
#include "catalog/staging_job.h"

namespace llorch::pool {

// The files one node holds; `node_id` empty on one machine.
struct node_files {
    std::string node_id;
    std::vector<catalog::catalog_entry> entries;
};

class catalog_admin {
  public:
    virtual ~catalog_admin() = default;
    virtual std::vector<node_files> files() const = 0;
    // Starts a staging job: its JSON (catalog_json's job shape, `job_id` first), for a 202.
    // INVALID_PARAMS for a bad source, name or sha256; CONFLICT when the name exists or a job
    // for it runs; NODE_UNAVAILABLE when no node can take it.
    virtual boost::asio::awaitable<api::api_result<boost::json::object>> stage(
        catalog::staging_request r) = 0;
    // The job's JSON; NOT_FOUND for a job nobody here knows.
    virtual boost::asio::awaitable<api::api_result<boost::json::object>> job(std::string id) = 0;
    // Removes a staged file: NOT_FOUND when unknown, CONFLICT while a pool serves it.
    // `node` picks the node in the CLOUD profile (needed when several hold the name).
    virtual boost::asio::awaitable<api::api_result<void>> remove(std::string name,
                                                                 std::string node) = 0;
};

}  // namespace llorch::pool
