#pragma once
// The one JSON codec of the catalog: a file's entry (GET /v2/catalog/models, the index a node
// keeps on disk, node reports), a staging job (GET /v2/catalog/jobs/{id}), and the catalog
// module's errors as the API's. Pure functions; no I/O.

#include <chrono>
#include <optional>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/error.h"
#include "catalog/node_catalog.h"
#include "catalog/staging_job.h"

namespace llorch::pool {

boost::json::object to_json(const catalog::catalog_entry& e);
// INVALID_PARAMS naming the field for a malformed entry (a node's report or a damaged index).
api::api_result<catalog::catalog_entry> catalog_entry_from_json(const boost::json::value& v);
boost::json::array to_json(const std::vector<catalog::catalog_entry>& entries);
api::api_result<std::vector<catalog::catalog_entry>> catalog_entries_from_json(
    const boost::json::value& v);

// {job_id, state, source, name, node_id, bytes, total, rate_bytes_per_s, eta_ms, resumes,
//  error {code, message} | null, model (the entry, once done) | null}
boost::json::object to_json(const catalog::staging_job& j, const std::string& node_id,
                            std::chrono::steady_clock::time_point now);

// not_found → 404 NOT_FOUND, conflict and duplicate → 409 CONFLICT, invalid_* and
// unsupported_scheme → 400 INVALID_PARAMS, the rest → 500 INTERNAL (for a failed job the code
// travels in the job's `error`).
api::error to_api_error(const catalog::catalog_error& e);
// The machine-readable name of a catalog error in a job's `error.code`, e.g. CHECKSUM_MISMATCH.
std::string_view error_name(catalog::catalog_errc c);

}  // namespace llorch::pool
