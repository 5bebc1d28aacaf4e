#include "orchestrator/pool_backend.h"

namespace llorch::orchestrator {

placement::pool_state placement_state(const pool::pool_snapshot& s,
                                      std::vector<std::string> models) {
    placement::pool_state st;
    st.models = std::move(models);
    st.engine = s.engine;
    st.labels = s.labels;
    st.weight = s.weight;
    st.ready = s.state == pool::pool_state::ready && !s.yielding;
    st.draining = s.state == pool::pool_state::draining;
    // An on-demand pool that is not loaded can start: the first task for its model loads it.
    st.down = s.state == pool::pool_state::failed ||
              (s.state == pool::pool_state::offline && !s.on_demand);
    st.slots_total = s.slots_total;
    st.slots_free = s.slots_free;
    st.vram_total_bytes = s.vram_total_bytes;
    st.vram_free_bytes = s.vram_free_bytes;
    st.embeddings = s.embeddings;
    return st;
}

}  // namespace llorch::orchestrator
