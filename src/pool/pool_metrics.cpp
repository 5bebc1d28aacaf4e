#include "pool/pool_metrics.h"

#include <string>

namespace llorch::pool {

void report_pool_metrics(common::scrape& s, const pool_table& table,
                         const handoff_adopter::outcome_counts& handoffs,
                         const gpu::discovery_result& gpus, std::string_view node_id) {
    for (const auto& [id, p] : table.entries()) {
        const common::labels l{{"pool_id", id}};
        auto v = snapshot_of(*p);
        s.gauge("pool_slots_total", "Slots of the pool's engines.", l, v.slots_total);
        s.gauge("pool_slots_free", "Free slots of the pool's engines.", l, v.slots_free);
        s.gauge("pool_ready", "1 when the pool takes requests.", l,
                v.state == pool_state::ready ? 1 : 0);
        s.gauge("pool_vram_total_bytes", "Memory of the pool's GPUs.", l,
                static_cast<double>(v.vram_total_bytes));
        s.gauge("pool_vram_free_bytes", "Free memory of the pool's GPUs.", l,
                static_cast<double>(v.vram_free_bytes));
        s.counter("pool_restarts_total", "Engine restarts after a crash or a stall.", l,
                  v.restarts);
        if (v.engine_slots_busy >= 0)
            s.gauge("pool_engine_slots_busy", "Busy slots as the engine itself reports them.", l,
                    v.engine_slots_busy);
        s.counter("pool_slot_mismatch_total",
                  "Times the engine's busy-slot count disagreed with the manager's.", l,
                  static_cast<double>(p->slot_mismatches));
        for (auto [outcome, n] : {std::pair{"ok", p->health_ok}, std::pair{"fail", p->health_fail}})
            s.counter("pool_health_checks_total", "Engine health probes, by outcome.",
                      {{"pool_id", id}, {"outcome", outcome}}, static_cast<double>(n));
    }
    for (const auto& [key, n] : handoffs)
        s.counter("pool_handoff_files_processed_total", "Handoff files processed, by outcome.",
                  {{"pool_id", key.first}, {"outcome", key.second}}, static_cast<double>(n));
    for (const auto& g : gpus.gpus) {
        const common::labels l{{"node", std::string(node_id)}, {"device", std::to_string(g.index)}};
        s.gauge("gpu_memory_total_bytes", "Memory of a GPU.", l,
                static_cast<double>(g.memory_total_bytes));
        s.gauge("gpu_memory_used_bytes", "Memory in use on a GPU.", l,
                static_cast<double>(g.memory_used_bytes));
        if (g.utilization)
            s.gauge("gpu_utilization_ratio", "Fraction of time a GPU was busy (0..1).", l,
                    *g.utilization);
    }
}

}  // namespace llorch::pool
