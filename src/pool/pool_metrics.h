#pragma once
// pool_metrics: the Prometheus text of a pool manager — slots, readiness, VRAM, restarts,
// health checks, the engines' own busy-slot count and mismatches, handoff files processed.
// A pure function of the table and the adopter's counts; called on the io thread.

#include <string>

#include "pool/handoff_adopter.h"
#include "pool/pool_table.h"

namespace llorch::pool {

std::string render_pool_metrics(const pool_table& table,
                                const handoff_adopter::outcome_counts& handoffs);

}  // namespace llorch::pool
