#pragma once
// pool_metrics: a pool manager's families, reported when /metrics renders — slots, readiness,
// VRAM, restarts, health checks, the engines' own busy-slot count and mismatches, handoff files
// processed, and the GPUs the last discovery saw. A pure function of the table, the adopter's
// counts and that discovery; called on the io thread by the registry's collector.

#include <string_view>

#include "common/metrics.h"
#include "gpu/gpu_info.h"
#include "pool/handoff_adopter.h"
#include "pool/pool_table.h"

namespace llorch::pool {

void report_pool_metrics(common::scrape& s, const pool_table& table,
                         const handoff_adopter::outcome_counts& handoffs,
                         const gpu::discovery_result& gpus, std::string_view node_id);

}  // namespace llorch::pool
