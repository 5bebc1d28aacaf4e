#pragma once
// The service registry of the CLOUD profile: which nodes exist, their liveness, and (through the
// placement index it keeps current) their pools. Registration, heartbeats, drain, deregistration,
// connection failures and the stale check all update the index at once, so placement never works
// on a copy.
//
// Owned by the control plane next to the placement index it feeds (the index must outlive it);
// single-threaded, used on the control plane's io_context thread only. Time is passed in by the
// caller (`now`), so tests move it freely.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "placement/placement_index.h"
#include "registry/node_record.h"
#include "registry/registry_config.h"
#include "registry/registry_error.h"

namespace llorch::registry {

enum class heartbeat_status {
    accepted,
    unknown_node,    // not registered (e.g. the control plane restarted): answer "re-register"
    stale_epoch,     // stamped with an epoch older than the node's current registration: drop it
    too_many_pools,  // more pools than registry_config::max_pools_per_node: nothing changed
};

struct heartbeat_result {
    heartbeat_status status = heartbeat_status::accepted;
    std::chrono::milliseconds next_heartbeat{0};  // the node's own interval, echoed
};

class node_registry {
  public:
    node_registry(registry_config config, placement::placement_index& index, time_point created);

    // Idempotent: registering a known node again replaces its description and pools (pools that
    // stay keep their in-flight counts) and gives it a new epoch, which is returned.
    // too_many_pools beyond registry_config::max_pools_per_node.
    registry_result<uint64_t> register_node(node_registration registration, time_point now);

    // A full snapshot of the node's pools: known pools missing from it are marked not ready,
    // new ones are added, and only pools whose report changed touch the placement index.
    // Revives an offline node. `epoch`, when the node sends it, must be the
    // current one.
    heartbeat_result heartbeat(std::string_view node_id, std::vector<pool_report> pools,
                               time_point now, std::optional<uint64_t> epoch = std::nullopt);

    bool deregister(std::string_view node_id);  // false: unknown node
    bool drain(std::string_view node_id);       // out of placement until it registers again
    // A connection failure counts at once: offline until the next heartbeat or registration.
    bool mark_offline(std::string_view node_id);
    // A configuration error (e.g. the node refuses our service token): out until it registers.
    bool mark_failed(std::string_view node_id);

    // Run every stale_check_interval. Returns the nodes that went offline in this check.
    std::vector<std::string> check_stale(time_point now);

    bool is_current(std::string_view node_id, uint64_t epoch) const;
    const node_record* find(std::string_view node_id) const;
    const std::map<std::string, node_record, std::less<>>& nodes() const { return nodes_; }
    // max(node_timeout, 3 × the node's heartbeat interval)
    std::chrono::milliseconds timeout_of(const node_record& node) const;
    const placement::placement_index& index() const { return index_; }
    size_t max_pools_per_node() const { return config_.max_pools_per_node; }

    static bool version_compatible(std::string_view node_version, std::string_view own_version);

  private:
    void sync_pools(node_record& node, std::vector<pool_report>& pools, bool remove_missing);
    registry_error too_many_pools(std::string_view node_id, size_t n) const;
    void set_state(node_record& node, node_state state);
    bool vram_ok(const placement::pool_state& state) const;

    registry_config config_;
    placement::placement_index& index_;
    std::map<std::string, node_record, std::less<>> nodes_;
    uint64_t last_epoch_ = 0;
    time_point last_check_;
    // No node expires on a silence that started before this: the registry's creation, or the
    // end of a stall of the stale checker itself.
    time_point grace_start_;
};

}  // namespace llorch::registry
