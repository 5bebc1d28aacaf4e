#include "monitor/server_monitor.h"

#include <algorithm>
#include <vector>

namespace llorch::monitor {

namespace {
long long ms_between(time_point a, time_point b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}
}  // namespace

monitor_result<void> validate(const monitor_config& c) {
    if (c.fall < 1 || c.fall > 100)
        return monitor_error{monitor_errc::bad_threshold,
                             "fall: must be 1..100 (got " + std::to_string(c.fall) + ")"};
    if (c.rise < 1 || c.rise > 100)
        return monitor_error{monitor_errc::bad_threshold,
                             "rise: must be 1..100 (got " + std::to_string(c.rise) + ")"};
    if (!(c.latency_alpha > 0.0 && c.latency_alpha <= 1.0))
        return monitor_error{monitor_errc::bad_weight, "latency_alpha: must be in (0, 1]"};
    if (c.error_window.count() < 1'000 || c.error_window.count() > 3'600'000)
        return monitor_error{monitor_errc::bad_window, "error_window: must be 1 s .. 1 h"};
    if (c.window_buckets < 1 || c.window_buckets > 600)
        return monitor_error{monitor_errc::bad_window, "window_buckets: must be 1..600"};
    return {};
}

bool server_monitor::probe_state::record(bool probe_ok, int fall, int rise, time_point now) {
    ++(probe_ok ? ok : failed);
    last_probe = now;
    const bool changed_now = health.record(probe_ok, fall, rise);
    if (changed_now) changed = now;
    return changed_now;
}

server_monitor::server_monitor(monitor_config config) : config_(config) {}

std::string server_monitor::key(std::string_view node_id, std::string_view pool_id) {
    std::string k;
    k.reserve(node_id.size() + 1 + pool_id.size());
    k.append(node_id).append("/").append(pool_id);
    return k;
}

server_monitor::upstream& server_monitor::at(std::string_view node_id, std::string_view pool_id,
                                             time_point now) {
    auto k = key(node_id, pool_id);
    auto it = upstreams_.find(k);
    if (it == upstreams_.end()) {
        it = upstreams_.emplace(std::move(k), upstream(config_)).first;
        it->second.probes.changed = now;
    }
    return it->second;
}

bool server_monitor::on_probe(std::string_view node_id, std::string_view pool_id, bool ok,
                              time_point now) {
    return at(node_id, pool_id, now).probes.record(ok, config_.fall, config_.rise, now);
}

bool server_monitor::on_node_probe(std::string_view node_id, bool ok, time_point now) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) {
        it = nodes_.emplace(std::string(node_id), probe_state{}).first;
        it->second.changed = now;
    }
    return it->second.record(ok, config_.fall, config_.rise, now);
}

void server_monitor::on_request(std::string_view node_id, std::string_view pool_id,
                                request_outcome outcome, std::optional<double> ttft_ms,
                                std::optional<double> e2e_ms, time_point now) {
    auto& u = at(node_id, pool_id, now);
    ++u.requests;
    if (ttft_ms) u.ttft.add(std::max(0.0, *ttft_ms), config_.latency_alpha);
    if (outcome == request_outcome::cancelled) return;
    const bool failed = outcome == request_outcome::failed;
    if (failed) ++u.failures;
    u.errors.add(failed, now);
    // A failed request's duration says how long failing took, not how long serving takes.
    if (!failed && e2e_ms) u.e2e.add(std::max(0.0, *e2e_ms), config_.latency_alpha);
}

void server_monitor::forget(std::string_view node_id, std::string_view pool_id) {
    if (auto it = upstreams_.find(key(node_id, pool_id)); it != upstreams_.end())
        upstreams_.erase(it);
}

void server_monitor::forget_node(std::string_view node_id) {
    if (auto it = nodes_.find(node_id); it != nodes_.end()) nodes_.erase(it);
    const auto prefix = key(node_id, "");
    std::erase_if(upstreams_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
}

bool server_monitor::node_healthy(std::string_view node_id) const {
    auto it = nodes_.find(node_id);
    return it == nodes_.end() || it->second.health.healthy();
}

bool server_monitor::healthy(std::string_view node_id, std::string_view pool_id) const {
    if (!node_healthy(node_id)) return false;
    auto it = upstreams_.find(key(node_id, pool_id));
    return it == upstreams_.end() || it->second.probes.health.healthy();
}

upstream_view server_monitor::view(std::string_view node_id, std::string_view pool_id,
                                   const upstream_load& load, time_point now) const {
    upstream_view v;
    v.node_id = node_id;
    v.pool_id = pool_id;
    v.in_flight = load.in_flight;
    v.busy = std::max(load.busy, load.in_flight);
    v.capacity = load.capacity;
    v.utilization = load.capacity > 0 ? static_cast<double>(v.busy) / load.capacity : 0.0;
    v.healthy = node_healthy(node_id);
    auto it = upstreams_.find(key(node_id, pool_id));
    if (it == upstreams_.end()) return v;
    const upstream& u = it->second;
    v.probe_healthy = u.probes.health.healthy();
    v.healthy = v.healthy && v.probe_healthy;
    v.good_run = u.probes.health.good_run();
    v.bad_run = u.probes.health.bad_run();
    v.probes_ok = u.probes.ok;
    v.probes_failed = u.probes.failed;
    if (u.probes.last_probe) v.last_probe_ms_ago = ms_between(*u.probes.last_probe, now);
    if (u.probes.changed) v.state_for_ms = ms_between(*u.probes.changed, now);
    v.ttft_ewma_ms = u.ttft.get();
    v.e2e_ewma_ms = u.e2e.get();
    v.window_requests = u.errors.requests(now);
    v.window_failures = u.errors.failures(now);
    v.error_rate = u.errors.rate(now);
    v.requests_total = u.requests;
    v.failures_total = u.failures;
    return v;
}

node_view server_monitor::aggregate(std::string_view node_id,
                                    std::span<const upstream_view> upstreams) const {
    node_view n;
    n.node_id = node_id;
    n.healthy = node_healthy(node_id);
    double ttft_sum = 0, ttft_w = 0, e2e_sum = 0, e2e_w = 0;
    for (const auto& u : upstreams) {
        ++n.upstreams;
        if (u.healthy) ++n.healthy_upstreams;
        n.in_flight += u.in_flight;
        n.busy += u.busy;
        n.capacity += u.capacity;
        n.window_requests += u.window_requests;
        n.window_failures += u.window_failures;
        const double w = static_cast<double>(std::max<uint64_t>(u.requests_total, 1));
        if (u.ttft_ewma_ms) ttft_sum += w * *u.ttft_ewma_ms, ttft_w += w;
        if (u.e2e_ewma_ms) e2e_sum += w * *u.e2e_ewma_ms, e2e_w += w;
    }
    n.utilization = n.capacity > 0 ? static_cast<double>(n.busy) / n.capacity : 0.0;
    if (ttft_w > 0) n.ttft_ewma_ms = ttft_sum / ttft_w;
    if (e2e_w > 0) n.e2e_ewma_ms = e2e_sum / e2e_w;
    n.error_rate = n.window_requests == 0 ? 0.0
                                          : static_cast<double>(n.window_failures) /
                                                static_cast<double>(n.window_requests);
    return n;
}

}  // namespace llorch::monitor
