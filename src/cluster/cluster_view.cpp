#include "cluster/cluster_view.h"

#include <algorithm>

namespace llorch::cluster {

namespace {

template <class Row, class Key>
row_changes<Row> diff_into(std::map<std::string, Row>& have, std::vector<Row> now, Key key) {
    row_changes<Row> out;
    std::map<std::string, Row> next;
    for (auto& r : now) {
        auto k = key(r);
        auto it = have.find(k);
        if (it == have.end() || !(it->second == r)) out.changed.push_back(r);
        next.emplace(std::move(k), std::move(r));
    }
    for (const auto& [k, r] : have)
        if (!next.contains(k)) out.removed.push_back(k);
    have = std::move(next);
    return out;
}

}  // namespace

row_changes<node_row> cluster_view::set_nodes(std::vector<node_row> nodes) {
    return diff_into(nodes_, std::move(nodes), [](const node_row& n) { return n.node_id; });
}

row_changes<pool_row> cluster_view::set_pools(std::vector<pool_row> pools) {
    return diff_into(pools_, std::move(pools), [](const pool_row& p) { return p.id; });
}

bool cluster_view::set_queue(queue_depths q) {
    if (q == queue_) return false;
    queue_ = q;
    return true;
}

const task_row& cluster_view::task_started(task_row t) {
    auto id = t.task_id;
    auto [it, fresh] = running_.insert_or_assign(std::move(id), std::move(t));
    (void)fresh;
    return it->second;
}

void cluster_view::task_progress(const std::string& task_id, long long tokens,
                                 std::optional<time_point> first_token, time_point now) {
    auto it = running_.find(task_id);
    if (it == running_.end()) return;
    auto& t = it->second;
    if (tokens > t.tokens) stats_.add_tokens(tokens - t.tokens, now);
    t.tokens = std::max(t.tokens, tokens);
    if (first_token && !t.first_token) t.first_token = first_token;
}

void cluster_view::task_ended(const task_end& e, long long wall_ms, time_point now) {
    if (auto it = running_.find(e.task_id); it != running_.end()) {
        if (e.tokens > it->second.tokens) stats_.add_tokens(e.tokens - it->second.tokens, now);
        running_.erase(it);
    }
    if (e.ttft_ms >= 0) stats_.add_ttft(e.ttft_ms, now);
    if (!e.error_code.empty() && e.error_code != "CANCELLED") {
        errors_.push_back({wall_ms, e.task_id, e.model, e.pool, e.error_code, e.message});
        while (errors_.size() > config_.max_errors) errors_.pop_front();
    }
}

double cluster_view::tokens_per_s(const task_row& t, time_point now) {
    if (!t.first_token || t.tokens <= 1) return 0;
    auto s = std::chrono::duration<double>(now - *t.first_token).count();
    return s > 0 ? static_cast<double>(t.tokens - 1) / s : 0;
}

double cluster_view::ttft_ms(const task_row& t) {
    if (!t.first_token) return -1;
    return std::chrono::duration<double, std::milli>(*t.first_token - t.started).count();
}

}  // namespace llorch::cluster
