#include "orchestrator/cluster_events_json.h"

#include <cmath>

#include <boost/json.hpp>

#include "http/sse.h"

namespace llorch::orchestrator::cluster_json {
namespace json = boost::json;
using cluster::cluster_view;

namespace {

// Figures to one decimal; unknown ones (negative) as null.
json::value figure(double v) {
    if (v < 0 || !std::isfinite(v)) return nullptr;
    return std::round(v * 10) / 10;
}

json::object queue_json(const cluster::queue_depths& q) {
    return {{"interactive", q.interactive}, {"batch", q.batch}, {"total", q.total()}};
}

json::object pool_json(const cluster::pool_row& p) {
    json::object o{{"id", p.id},
                   {"node_id", p.node_id},
                   {"state", p.state},
                   {"model", p.model},
                   {"engine", p.engine},
                   {"device", p.device},
                   {"slots_total", p.slots_total},
                   {"slots_free", p.slots_free},
                   {"slots_busy", p.slots_busy},
                   {"vram_total_bytes", p.vram_total_bytes},
                   {"vram_free_bytes", p.vram_free_bytes},
                   {"gpu_util_percent", nullptr},
                   {"last_error", p.last_error}};
    if (p.gpu_util_percent) o["gpu_util_percent"] = figure(*p.gpu_util_percent);
    return o;
}

json::object node_json(const cluster::node_row& n) {
    json::object o{{"node_id", n.node_id}, {"state", n.state}, {"address", n.address},
                   {"version", n.version}, {"pools", n.pools}, {"last_heartbeat_ms", nullptr}};
    if (n.last_heartbeat_ms > 0) o["last_heartbeat_ms"] = n.last_heartbeat_ms;
    return o;
}

json::object running_json(const cluster::task_row& t, time_point now) {
    return {{"task_id", t.task_id},
            {"model", t.model},
            {"priority", t.priority},
            {"pool", t.pool},
            {"node_id", t.node_id},
            {"tokens", t.tokens},
            {"tokens_per_s", figure(cluster_view::tokens_per_s(t, now))},
            {"ttft_ms", figure(cluster_view::ttft_ms(t))},
            {"running_ms",
             std::chrono::duration_cast<std::chrono::milliseconds>(now - t.started).count()}};
}

json::object point_json(const cluster::stats_point& s) {
    return {{"at_ms", s.at_ms},
            {"tokens_per_s", figure(s.tokens_per_s)},
            {"ttft_p50_ms", figure(s.ttft_p50_ms)},
            {"ttft_p95_ms", figure(s.ttft_p95_ms)},
            {"queue_depth", s.queue_depth},
            {"running", s.running}};
}

}  // namespace

std::string snapshot(const cluster_view& v, std::string_view profile, time_point now,
                     long long wall_ms) {
    json::array nodes, pools, running, errors, history;
    for (const auto& [id, n] : v.nodes()) nodes.push_back(node_json(n));
    for (const auto& [id, p] : v.pools()) pools.push_back(pool_json(p));
    for (const auto& [id, t] : v.running()) running.push_back(running_json(t, now));
    for (const auto& e : v.errors())
        errors.push_back(json::object{{"at_ms", e.at_ms},
                                      {"task_id", e.task_id},
                                      {"model", e.model},
                                      {"pool", e.pool},
                                      {"code", e.code},
                                      {"message", e.message}});
    for (const auto& p : v.stats().history()) history.push_back(point_json(p));
    const auto& cfg = v.stats().config();
    return http::sse_frame("snapshot", json::object{{"profile", profile},
                                                    {"at_ms", wall_ms},
                                                    {"nodes", std::move(nodes)},
                                                    {"pools", std::move(pools)},
                                                    {"queue", queue_json(v.queue())},
                                                    {"running", std::move(running)},
                                                    {"errors", std::move(errors)},
                                                    {"history", std::move(history)},
                                                    {"rate_window_s", cfg.rate_window.count()},
                                                    {"ttft_window_s", cfg.ttft_window.count()}});
}

std::string task_queued(std::string_view task_id, std::string_view model, std::string_view priority,
                        size_t position) {
    return http::sse_frame("task_queued", json::object{{"task_id", task_id},
                                                       {"model", model},
                                                       {"priority", priority},
                                                       {"queue_position", position}});
}

std::string task_started(const cluster::task_row& t, std::string_view priority, int attempt) {
    return http::sse_frame("task_started", json::object{{"task_id", t.task_id},
                                                        {"model", t.model},
                                                        {"priority", priority},
                                                        {"pool", t.pool},
                                                        {"node_id", t.node_id},
                                                        {"attempt", attempt}});
}

std::string task_ended(const cluster::task_end& e, long long wall_ms) {
    json::object o{{"task_id", e.task_id},
                   {"model", e.model},
                   {"pool", e.pool},
                   {"outcome", e.outcome},
                   {"error_code", nullptr},
                   {"message", nullptr},
                   {"tokens", e.tokens},
                   {"ttft_ms", figure(e.ttft_ms)},
                   {"duration_ms", e.duration_ms},
                   {"at_ms", wall_ms}};
    if (!e.error_code.empty()) {
        o["error_code"] = e.error_code;
        o["message"] = e.message;
    }
    return http::sse_frame("task_ended", o);
}

std::string queue(const cluster::queue_depths& q) {
    return http::sse_frame("queue", queue_json(q));
}

std::string pool(const cluster::pool_row& p) { return http::sse_frame("pool", pool_json(p)); }

std::string pool_removed(std::string_view id) {
    return http::sse_frame("pool_removed", json::object{{"id", id}});
}

std::string node(const cluster::node_row& n) { return http::sse_frame("node", node_json(n)); }

std::string node_removed(std::string_view node_id) {
    return http::sse_frame("node_removed", json::object{{"node_id", node_id}});
}

std::string stats(const cluster::stats_point& s, const cluster_view& v, time_point now) {
    auto o = point_json(s);
    json::array running;
    for (const auto& [id, t] : v.running())
        running.push_back(json::object{{"task_id", t.task_id},
                                       {"tokens", t.tokens},
                                       {"tokens_per_s", figure(cluster_view::tokens_per_s(t, now))},
                                       {"ttft_ms", figure(cluster_view::ttft_ms(t))}});
    o["running_tasks"] = std::move(running);
    return http::sse_frame("stats", o);
}

std::string cut_off(std::string_view message) {
    return http::sse_frame("cut_off",
                           json::object{{"code", "READER_BEHIND"}, {"message", message}});
}

}  // namespace llorch::orchestrator::cluster_json
