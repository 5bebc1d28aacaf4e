#pragma once
// The one JSON codec of a pool snapshot: pool-managerd's and HOME's GET /v2/pools[/{id}/status],
// the pools of a node's registration and heartbeats (sent by node_agent, read by orchestratord's
// node API), and a pool's health. Pure functions; no I/O.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/error.h"
#include "pool/pool_manager.h"

namespace llorch::pool {

boost::json::object to_json(const pool_snapshot& s);

// The inverse of to_json, lenient about what an older or hand-written report leaves out: the id
// may come as `pool_id` or `id`; a missing `state` follows `ready`/`draining`; a missing `name`
// is the first of `models`; missing limits are pool_config's defaults. A present field of the
// wrong type, or a count out of range, is INVALID_PARAMS naming the field.
api::api_result<pool_snapshot> pool_snapshot_from_json(const boost::json::value& v);

// GET /v2/pools/{id}/health: `{live, ready, draining, metrics, last_error}`.
boost::json::object health_json(const pool_snapshot& s);

}  // namespace llorch::pool
