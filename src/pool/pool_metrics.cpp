#include "pool/pool_metrics.h"

namespace llorch::pool {

namespace {
// Ids of malformed handoff files come from file names, so they are escaped like any label value.
std::string label(const std::string& v) {
    std::string e;
    for (char c : v) {
        if (c == '\\' || c == '"') e += '\\';
        if (c == '\n') {
            e += "\\n";
            continue;
        }
        e += c;
    }
    return e;
}
}  // namespace

std::string render_pool_metrics(const pool_table& table,
                                const handoff_adopter::outcome_counts& handoffs) {
    std::string out;
    auto line = [&](const char* name, const std::string& id, double v) {
        out += name;
        out += "{pool_id=\"" + id + "\"} " + std::to_string(v) + "\n";
    };
    out += "# TYPE pool_slots_total gauge\n# TYPE pool_slots_free gauge\n# TYPE pool_ready gauge\n";
    out += "# TYPE pool_vram_total_bytes gauge\n# TYPE pool_vram_free_bytes gauge\n";
    out += "# TYPE pool_restarts_total counter\n";
    for (const auto& [id, p] : table.entries()) {
        auto s = snapshot_of(*p);
        line("pool_slots_total", id, s.slots_total);
        line("pool_slots_free", id, s.slots_free);
        line("pool_ready", id, s.state == pool_state::ready ? 1 : 0);
        line("pool_vram_total_bytes", id, static_cast<double>(s.vram_total_bytes));
        line("pool_vram_free_bytes", id, static_cast<double>(s.vram_free_bytes));
        line("pool_restarts_total", id, s.restarts);
    }
    out += "# TYPE pool_health_checks_total counter\n";
    for (const auto& [id, p] : table.entries()) {
        out += "pool_health_checks_total{pool_id=\"" + id + "\",outcome=\"ok\"} " +
               std::to_string(p->health_ok) + "\n";
        out += "pool_health_checks_total{pool_id=\"" + id + "\",outcome=\"fail\"} " +
               std::to_string(p->health_fail) + "\n";
    }
    out += "# TYPE pool_engine_slots_busy gauge\n# TYPE pool_slot_mismatch_total counter\n";
    for (const auto& [id, p] : table.entries()) {
        auto s = snapshot_of(*p);
        if (s.engine_slots_busy >= 0)
            out += "pool_engine_slots_busy{pool_id=\"" + id + "\"} " +
                   std::to_string(s.engine_slots_busy) + "\n";
        out += "pool_slot_mismatch_total{pool_id=\"" + id + "\"} " +
               std::to_string(p->slot_mismatches) + "\n";
    }
    out += "# TYPE pool_handoff_files_processed_total counter\n";
    for (const auto& [key, n] : handoffs)
        out += "pool_handoff_files_processed_total{pool_id=\"" + label(key.first) +
               "\",outcome=\"" + key.second + "\"} " + std::to_string(n) + "\n";
    return out;
}

}  // namespace llorch::pool
