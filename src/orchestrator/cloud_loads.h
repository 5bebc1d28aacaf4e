#pragma once
// Models on demand in the CLOUD profile (docs/models.md): which node loads a model that no node
// has loaded, asked through that node's POST /v2/models/{name}/load. Keeps what each node last
// reported of its pools (on-demand state, memory estimate, last load time) and of its devices'
// memory, ranks the sites with placement::choose_load, and remembers the loads asked for until
// the node's report shows them, so that one load serves every task that arrives meanwhile.
// Also forwards unloads and keep_alive, and says why a model's loads failed.
//
// Owner: cloud_backend. Thread: the control plane's io thread. Cost: O(pools of the model) per
// submitted task for an on-demand model; O(pools of the node) per report.

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/error.h"
#include "common/task_group.h"
#include "placement/placement_index.h"
#include "pool/node_report.h"

namespace llorch::orchestrator {

class cloud_backend;
struct model_demand;

class cloud_loads {
  public:
    cloud_loads(cloud_backend& backend, placement::placement_index& index,
                boost::asio::any_io_executor ex);

    // A node's registration or heartbeat, once the registry accepted it.
    void report(const std::string& node_id, const std::vector<pool::reported_pool>& pools,
                const std::vector<pool::device_report>& memory);
    void forget_node(const std::string& node_id);
    // Whether placement may count on the pool starting (pool_state::down is its negation): an
    // on-demand pool that is not loaded can start when the model can ever fit one of the node's
    // devices; a failed one while a new load of it was asked for.
    bool can_start(const std::string& node_id, const pool::pool_snapshot& s,
                   const std::vector<pool::device_report>& memory) const;

    // pool_backend's calls (pool_backend.h).
    std::optional<std::string> ensure_loaded(const std::string& model,
                                             std::optional<std::chrono::milliseconds> keep_alive,
                                             const model_demand& demand);
    // Tasks for `model` wait and no pool can take them: when no instance of it is loaded or
    // loading (a node restarted, or unloaded it meanwhile), it loads again.
    void want(const std::string& model);
    void revive(const std::string& model);
    std::string load_failure(const std::string& model) const;
    api::api_result<void> unload(const std::string& model);

    boost::asio::awaitable<void> stop() { co_await background_.stop(); }

  private:
    struct pool_record {
        pool::pool_snapshot pool;
        std::vector<std::string> models;
    };
    struct node_record {
        std::map<std::string, pool_record> pools;  // by pool id
        std::vector<pool::device_report> memory;
    };
    // The node's device an on-demand pool would load on: its own device, else the one with the
    // most memory free or freeable. Null when the node reported none.
    static const pool::device_report* device_for(const pool::pool_snapshot& s,
                                                 const std::vector<pool::device_report>& memory);
    void ask(const std::string& node_id, const pool_record& p, const std::string& model,
             std::optional<std::chrono::milliseconds> keep_alive);
    boost::asio::awaitable<void> send(std::string node_id, std::string pool_id, std::string name,
                                      std::string model, std::string path, std::string body);
    void set_startable(const std::string& node_id, const std::string& pool_id);
    void unindex(const std::string& node_id, const node_record& n);
    // The node is online and its circuit breaker closed (placement's view).
    bool reachable(const std::string& node_id, const std::string& pool_id) const;
    // Calls fn(node_id, node, pool) for each on-demand pool answering to `model`.
    template <class F>
    void for_model(const std::string& model, F&& fn) const {
        auto it = by_model_.find(model);
        if (it == by_model_.end()) return;
        for (const auto& [node_id, pool_id] : it->second) {
            auto n = nodes_.find(node_id);
            if (n == nodes_.end()) continue;
            if (auto p = n->second.pools.find(pool_id); p != n->second.pools.end())
                fn(n->first, n->second, p->second);
        }
    }

    cloud_backend& backend_;
    placement::placement_index& index_;
    std::map<std::string, node_record> nodes_;
    // Model name → its on-demand pools (node id, pool id): a task's lookup touches only those.
    std::unordered_map<std::string, std::set<std::pair<std::string, std::string>>> by_model_;
    // Loads asked for and not yet seen in a report ("node/pool" → when), and failed pools a new
    // task revived until their node answers the load ("node/pool").
    std::map<std::string, std::chrono::steady_clock::time_point> asked_;
    std::map<std::string, bool> revived_;
    std::map<std::string, std::string> failures_;  // model → why its last load could not start
    common::task_group background_;
};

}  // namespace llorch::orchestrator
