#include "registry/node_registry.h"

#include <algorithm>
#include <charconv>

namespace llorch::registry {

namespace {

struct major_minor {
    int major = 0;
    int minor = 0;
};

std::optional<major_minor> parse_version(std::string_view v) {
    if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) v.remove_prefix(1);
    major_minor out;
    const char* end = v.data() + v.size();
    auto [p, ec] = std::from_chars(v.data(), end, out.major);
    if (ec != std::errc{}) return std::nullopt;
    if (p == end || *p != '.') return out;
    auto [p2, ec2] = std::from_chars(p + 1, end, out.minor);
    if (ec2 != std::errc{}) return std::nullopt;
    return out;
}

}  // namespace

node_registry::node_registry(registry_config config, placement::placement_index& index,
                             time_point created)
    : config_(std::move(config)), index_(index), last_check_(created), grace_start_(created) {}

bool node_registry::version_compatible(std::string_view node_version,
                                       std::string_view own_version) {
    if (own_version.empty()) return true;
    const auto node = parse_version(node_version);
    const auto own = parse_version(own_version);
    if (!node || !own) return false;
    if (node->major != own->major) return false;
    return own->major != 0 || node->minor == own->minor;
}

bool node_registry::vram_ok(const placement::pool_state& state) const {
    // Unknown VRAM (a CPU pool, or no NVML) never fails the policy.
    return config_.min_vram_free_bytes == 0 || state.vram_total_bytes == 0 ||
           state.vram_free_bytes >= config_.min_vram_free_bytes;
}

void node_registry::set_state(node_record& node, node_state state) {
    node.state = state;
    index_.set_node_available(node.node_id, state == node_state::online);
}

// Linear in the node's pools: each report finds its pool through the node's id map, and the
// index is touched only where a report differs from what it holds (update_pool compares first).
void node_registry::sync_pools(node_record& node, std::vector<pool_report>& pools,
                               bool remove_missing) {
    const size_t known = node.pools.size();
    std::vector<char> reported(known, 0);
    size_t matched = 0;
    for (auto& report : pools) {
        report.state.vram_ok = vram_ok(report.state);
        auto it = node.pool_pos.find(report.pool_id);
        if (it == node.pool_pos.end()) {
            node.pool_pos.emplace(report.pool_id, node.pools.size());
            node.pools.push_back(
                {report.pool_id, index_.upsert_pool(node.node_id, report.pool_id, report.state)});
            continue;
        }
        const size_t i = it->second;
        if (i < known && !reported[i]) {
            reported[i] = 1;
            ++matched;
        }
        node_pool& p = node.pools[i];
        if (!index_.update_pool(p.ref, report.state))
            p.ref = index_.upsert_pool(node.node_id, report.pool_id, report.state);
    }
    if (matched == known) return;
    // Some known pools were not in the report.
    std::vector<node_pool> kept;
    kept.reserve(node.pools.size());
    for (size_t i = 0; i < node.pools.size(); ++i) {
        node_pool& p = node.pools[i];
        if (i >= known || reported[i]) {
            kept.push_back(std::move(p));
        } else if (remove_missing) {
            index_.remove_pool(p.ref);
        } else {
            if (const auto* entry = index_.find(p.ref)) {
                placement::pool_state state = entry->state;
                state.ready = false;
                index_.update_pool(p.ref, state);
            }
            kept.push_back(std::move(p));
        }
    }
    if (kept.size() != node.pools.size()) {
        node.pool_pos.clear();
        for (size_t i = 0; i < kept.size(); ++i) node.pool_pos.emplace(kept[i].pool_id, i);
    }
    node.pools = std::move(kept);
}

registry_error node_registry::too_many_pools(std::string_view node_id, size_t n) const {
    return registry_error{registry_errc::too_many_pools,
                          "pools: node '" + std::string(node_id) + "' reports " +
                              std::to_string(n) + " pools; this control plane takes at most " +
                              std::to_string(config_.max_pools_per_node) +
                              " per node (ORCHESTRATORD_MAX_POOLS_PER_NODE)"};
}

registry_result<uint64_t> node_registry::register_node(node_registration r, time_point now) {
    if (r.node_id.empty() || r.node_id.find('/') != std::string::npos || r.address.empty() ||
        r.heartbeat_interval.count() <= 0) {
        return registry_error{registry_errc::invalid_registration,
                              "registration needs a node_id without '/', an address and a "
                              "positive heartbeat interval"};
    }
    if (r.pools.size() > config_.max_pools_per_node)
        return too_many_pools(r.node_id, r.pools.size());
    if (!version_compatible(r.version, config_.control_plane_version)) {
        const auto own = parse_version(config_.control_plane_version);
        std::string accepted = config_.control_plane_version;
        if (own) {
            accepted = std::to_string(own->major);
            accepted += '.';
            if (own->major == 0) {
                accepted += std::to_string(own->minor);
                accepted += ".x";
            } else {
                accepted += 'x';
            }
        }
        return registry_error{registry_errc::incompatible_version,
                              "node version '" + r.version +
                                  "' is not compatible with control "
                                  "plane " +
                                  config_.control_plane_version +
                                  "; compatible versions: " + accepted +
                                  "; install the control plane's release on this node, or "
                                  "upgrade orchestratord first when the node is newer "
                                  "(docs/operations.md, Upgrades)"};
    }
    auto [it, inserted] = nodes_.try_emplace(r.node_id);
    node_record& n = it->second;
    n.node_id = r.node_id;
    n.machine_id = std::move(r.machine_id);
    n.address = std::move(r.address);
    n.version = std::move(r.version);
    n.heartbeat_interval = r.heartbeat_interval;
    n.epoch = ++last_epoch_;
    n.registered_at = now;
    n.last_heartbeat = now;
    n.drain_requested = false;
    index_.upsert_node(n.node_id, n.address);
    sync_pools(n, r.pools, /*remove_missing=*/true);
    set_state(n, n.pools.empty() ? node_state::registering : node_state::online);
    return n.epoch;
}

heartbeat_result node_registry::heartbeat(std::string_view node_id, std::vector<pool_report> pools,
                                          time_point now, std::optional<uint64_t> epoch) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return {heartbeat_status::unknown_node, {}};
    node_record& n = it->second;
    if (epoch && *epoch != n.epoch) {
        // Older: a delayed message from a replaced registration. Newer: a registration this
        // registry never saw, so the node must register again.
        return {*epoch < n.epoch ? heartbeat_status::stale_epoch : heartbeat_status::unknown_node,
                n.heartbeat_interval};
    }
    if (pools.size() > config_.max_pools_per_node)
        return {heartbeat_status::too_many_pools, n.heartbeat_interval};
    n.last_heartbeat = now;
    sync_pools(n, pools, /*remove_missing=*/false);
    switch (n.state) {
        case node_state::failed:
        case node_state::draining:
            break;
        case node_state::online:
            if (n.pools.empty()) set_state(n, node_state::registering);
            break;
        case node_state::registering:
        case node_state::offline:
            set_state(n, n.drain_requested ? node_state::draining
                         : n.pools.empty() ? node_state::registering
                                           : node_state::online);
            break;
    }
    return {heartbeat_status::accepted, n.heartbeat_interval};
}

bool node_registry::deregister(std::string_view node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return false;
    index_.remove_node(node_id);
    nodes_.erase(it);
    return true;
}

bool node_registry::drain(std::string_view node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return false;
    node_record& n = it->second;
    n.drain_requested = true;
    if (n.state == node_state::online || n.state == node_state::registering) {
        set_state(n, node_state::draining);
    }
    return true;
}

bool node_registry::mark_offline(std::string_view node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return false;
    node_record& n = it->second;
    if (n.state == node_state::offline || n.state == node_state::failed) return false;
    set_state(n, node_state::offline);
    return true;
}

bool node_registry::mark_failed(std::string_view node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return false;
    if (it->second.state == node_state::failed) return false;
    set_state(it->second, node_state::failed);
    return true;
}

std::chrono::milliseconds node_registry::timeout_of(const node_record& node) const {
    return std::max(config_.node_timeout, 3 * node.heartbeat_interval);
}

std::vector<std::string> node_registry::check_stale(time_point now) {
    std::vector<std::string> expired;
    if (now - last_check_ > 2 * config_.stale_check_interval) {
        // The checker itself ran late: the process was stalled, so the silence it sees is ours,
        // not the nodes'. Give every node a fresh window instead of expiring them all at once.
        last_check_ = now;
        grace_start_ = now;
        return expired;
    }
    last_check_ = now;
    for (auto& [id, n] : nodes_) {
        if (n.state != node_state::online && n.state != node_state::draining &&
            n.state != node_state::registering) {
            continue;
        }
        const time_point anchor = std::max(n.last_heartbeat, grace_start_);
        if (now - anchor >= timeout_of(n)) {
            set_state(n, node_state::offline);
            expired.push_back(id);
        }
    }
    return expired;
}

bool node_registry::is_current(std::string_view node_id, uint64_t epoch) const {
    const auto it = nodes_.find(node_id);
    return it != nodes_.end() && it->second.epoch == epoch;
}

const node_record* node_registry::find(std::string_view node_id) const {
    const auto it = nodes_.find(node_id);
    return it != nodes_.end() ? &it->second : nullptr;
}

}  // namespace llorch::registry
