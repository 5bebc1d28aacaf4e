#pragma once
// The bodies a node sends orchestratord: POST /v2/nodes/register and
// POST /v2/nodes/{id}/heartbeat. One codec for both ends: node_agent encodes, orchestratord's
// node API decodes, and each pool inside travels as pool_snapshot_json encodes it, plus the
// names it answers to. Pure functions; no I/O.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "api/error.h"
#include "catalog/catalog_entry.h"
#include "pool/pool_manager.h"

namespace llorch::pool {

// One pool of a registration or heartbeat.
struct reported_pool {
    pool_snapshot pool;
    std::vector<std::string> models;  // every name it answers to (model_names)
};

struct node_gpu {
    int device_id = 0;
    std::string name;
    uint64_t vram_total_bytes = 0;
    std::string compute_capability;
};

struct node_registration_body {
    std::string node_id;
    std::string machine_id;
    std::string address;  // the node's URL as orchestratord reaches it
    std::string version;
    std::chrono::milliseconds heartbeat_interval{10'000};
    std::vector<node_gpu> gpus;
    unsigned cpu_cores = 0;
    uint64_t ram_total_bytes = 0;
    std::vector<std::string> models_available;
    std::vector<reported_pool> pools;
    // The node's model files (catalog_service) and the catalog's version.
    std::optional<uint64_t> catalog_version;
    std::optional<std::vector<catalog::catalog_entry>> catalog;
    // Each device's memory as on-demand loads see it (pool_manager::memory); empty: not said.
    std::vector<device_report> memory;
};

struct node_heartbeat_body {
    long long timestamp_ms = 0;  // the node's wall clock, for the log only
    std::optional<uint64_t> epoch;
    std::vector<reported_pool> pools;
    // Always the catalog's version; the files only when they changed since the last report
    // orchestratord accepted, so that a heartbeat stays small.
    std::optional<uint64_t> catalog_version;
    std::optional<std::vector<catalog::catalog_entry>> catalog;
    std::vector<device_report> memory;
};

// The heartbeat interval a node may ask for.
inline constexpr std::chrono::milliseconds min_heartbeat_interval{10};
inline constexpr std::chrono::milliseconds max_heartbeat_interval{3'600'000};

// The report of a pool of this node (its names from model_names).
reported_pool report_of(pool_snapshot s);

boost::json::object to_json(const node_registration_body& b);
boost::json::object to_json(const node_heartbeat_body& b);

// INVALID_PARAMS naming the field for a field of the wrong type or out of range, a pool without
// an id, or the same pool id twice. Required fields (node_id, address) are the caller's rule.
api::api_result<node_registration_body> parse_registration(const boost::json::object& o);
api::api_result<node_heartbeat_body> parse_heartbeat(const boost::json::object& o);

}  // namespace llorch::pool
