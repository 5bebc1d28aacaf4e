#pragma once
// The placement index: every known pool with the state placement filters on, and per model the
// set of pools that could take a task right now, kept up to date incrementally as reports,
// dispatches and completions arrive. A decision never scans all pools: it looks at the model's
// eligible set only (see README.md for the cost of each operation).
//
// Owned by the control plane (the registry keeps node and pool state current; the dispatcher
// reports dispatches, completions and breaker changes); single-threaded, used on the control
// plane's io_context thread only.

#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "placement/placement_config.h"
#include "placement/placement_error.h"
#include "placement/placement_request.h"
#include "placement/pool_entry.h"
#include "placement/weighted_sampler.h"

namespace llorch::placement {

class placement_index {
  public:
    explicit placement_index(placement_config config = {});
    placement_index(const placement_index&) = delete;
    placement_index& operator=(const placement_index&) = delete;

    // Nodes. A node is created by its first mention; the HOME profile uses node_id "".
    void upsert_node(std::string_view node_id, std::string_view address);
    void remove_node(std::string_view node_id);                         // and all its pools
    void set_node_available(std::string_view node_id, bool available);  // node online?
    void set_node_breaker_open(std::string_view node_id, bool open);

    // Pools. upsert_pool keeps the handle (and the in-flight count) of a pool already known.
    pool_ref upsert_pool(std::string_view node_id, std::string_view pool_id,
                         const pool_state& state);
    // false: stale handle. A report equal to what the index holds (state and the busy slots it
    // implies) changes nothing and costs a comparison: heartbeats touch only pools that changed.
    bool update_pool(pool_ref ref, const pool_state& state);
    bool remove_pool(pool_ref ref);
    // The server monitor's verdict on the pool; false: stale handle. O(m log n) on a change.
    bool set_pool_healthy(pool_ref ref, bool healthy);

    // The dispatcher's own accounting: one call each when a task is sent to / ends on a pool.
    // `success` and `latency_ms` (e.g. time to first token) feed the hybrid score.
    // `job`: the job the task belongs to (empty: none); while it runs, the hybrid strategy
    // steers the job's other tasks away from the pool's node (hybrid_weights::spread).
    void on_dispatch(pool_ref ref, std::string_view job = {});
    void on_complete(pool_ref ref, bool success = true,
                     std::optional<double> latency_ms = std::nullopt, std::string_view job = {});

    // Filters, then overrides (pin, prefer, avoid), session affinity, then the strategy.
    placement_result<placement_decision> place(const placement_request& request);

    // Some known pool lists the model (whatever its state): unknown models fail at once.
    bool serves(std::string_view model) const;
    // Some pool could take a task for the model now: the admission queue's predicate.
    bool can_serve_now(std::string_view model) const;
    // Some pool serving the model is ready or on its way (provisioning, starting, restarting),
    // on any node: not every one is down or draining. A task for a model that no pool can start
    // fails at once instead of waiting.
    bool can_start(std::string_view model) const;

    const pool_entry* find(pool_ref ref) const;  // nullptr for a stale handle
    std::optional<pool_ref> find(std::string_view node_id, std::string_view pool_id) const;
    // `pool_id` or `node_id/pool_id`; the first match when a bare pool id exists on several nodes.
    std::optional<pool_ref> find(std::string_view name) const;
    const std::string* node_address(std::string_view node_id) const;
    size_t pool_count() const { return slots_.size() - free_list_.size(); }
    // How many update_pool calls changed a pool (the rest were equal to what the index held).
    uint64_t updates_applied() const { return updates_applied_; }
    void for_each_pool(const std::function<void(pool_ref, const pool_entry&)>& fn) const;
    const placement_config& config() const { return config_; }

  private:
    struct string_hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    template <class V>
    using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

    struct node_info {
        std::string id;
        std::string address;
        bool available = true;
        bool breaker_open = false;
        std::vector<uint32_t> pools;      // unordered: a removal moves the last one into its place
        string_map<uint32_t> by_pool_id;  // pool id → slot
    };
    struct slot {
        pool_entry entry;
        node_info* node = nullptr;
        uint32_t generation = 0;
        bool live = false;
        bool indexed = false;      // present in its models' eligible sets
        bool startable = false;    // counted in its models' `startable`
        uint32_t node_pos = 0;     // its place in node->pools
        uint32_t name_pos = 0;     // its place in by_pool_id_[pool_id]
        double indexed_key = 0.0;  // the strategy key it was inserted with
        std::vector<uint32_t> model_ids;
    };
    struct model_set {
        std::string name;
        uint32_t serving = 0;                          // pools listing the model, any state
        uint32_t eligible = 0;                         // pools able to take a task now
        uint32_t startable = 0;                        // pools neither down nor draining
        std::set<uint32_t> ordered;                    // round-robin
        std::optional<uint32_t> cursor;                // round-robin: last pool chosen
        std::set<std::pair<double, uint32_t>> ranked;  // least-loaded (free), hybrid (score)
        weighted_sampler sampler;                      // random (weight 1), weighted (slots)
    };
    slot* live_slot(pool_ref ref);
    const slot* live_slot(pool_ref ref) const;
    node_info& node_for(std::string_view node_id);
    bool eligible(const slot& s) const;
    double strategy_key(const slot& s) const;
    double hybrid_score(const slot& s) const;
    void refresh(uint32_t index);
    bool changes(const slot& s, const pool_state& state) const;
    void apply(uint32_t index, const pool_state& state);
    void count_startable(uint32_t index, bool startable);
    void index_pool(uint32_t index, double key);
    void unindex_pool(uint32_t index);
    void set_models(uint32_t index, const std::vector<std::string>& models, bool embeddings);
    uint32_t model_id(std::string_view model);
    bool serves_model(const slot& s, uint32_t model) const;
    template <class F>
    void for_each_named(std::string_view name, F&& fn) const;
    std::optional<uint32_t> pick(model_set& ms, const std::vector<uint32_t>& avoid);
    std::optional<uint32_t> pick_hybrid(model_set& ms, const std::vector<uint32_t>& avoid,
                                        std::optional<uint32_t> affinity,
                                        const std::vector<const affinity_rule*>& rules,
                                        const std::vector<pool_ref>* job);
    bool runs_job(const node_info* node, const std::vector<pool_ref>& job) const;
    placement_decision decide(uint32_t index) const;

    placement_config config_;
    std::vector<slot> slots_;
    std::vector<uint32_t> free_list_;
    string_map<node_info> nodes_;
    string_map<std::vector<uint32_t>> by_pool_id_;
    string_map<uint32_t> model_ids_;
    std::vector<model_set> models_;
    std::mt19937_64 rng_;
    uint64_t updates_applied_ = 0;
    string_map<std::vector<pool_ref>> job_pools_;  // job id → pools of its running tasks
};

}  // namespace llorch::placement
