#include "cluster/rolling_stats.h"

#include <algorithm>
#include <cmath>

namespace llorch::cluster {

namespace {
int64_t second_of(time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return -1;
    auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    auto k = rank == 0 ? 0 : std::min(rank - 1, v.size() - 1);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

void rolling_stats::add_tokens(long long n, time_point now) {
    if (n <= 0) return;
    auto s = second_of(now);
    if (!buckets_.empty() && buckets_.back().first == s)
        buckets_.back().second += n;
    else
        buckets_.emplace_back(s, n);
    expire(now);
}

void rolling_stats::add_ttft(double ms, time_point now) {
    ttft_.emplace_back(now, ms);
    while (ttft_.size() > config_.max_samples) ttft_.pop_front();
    expire(now);
}

void rolling_stats::expire(time_point now) {
    auto oldest_second = second_of(now) - config_.rate_window.count();
    while (!buckets_.empty() && buckets_.front().first < oldest_second) buckets_.pop_front();
    while (!ttft_.empty() && now - ttft_.front().first > config_.ttft_window) ttft_.pop_front();
}

stats_point rolling_stats::tick(time_point now, long long wall_ms, size_t queue_depth,
                                size_t running) {
    expire(now);
    stats_point p;
    p.at_ms = wall_ms;
    p.queue_depth = queue_depth;
    p.running = running;
    // The last rate_window whole seconds before the current one, plus the current one's share.
    auto current = second_of(now);
    long long tokens = 0;
    for (const auto& [s, n] : buckets_)
        if (s >= current - config_.rate_window.count()) tokens += n;
    auto into_second =
        std::chrono::duration<double>(now.time_since_epoch() - std::chrono::seconds(current))
            .count();
    p.tokens_per_s =
        static_cast<double>(tokens) /
        (static_cast<double>(config_.rate_window.count()) + std::clamp(into_second, 0.0, 1.0));
    std::vector<double> v;
    v.reserve(ttft_.size());
    for (const auto& [t, ms] : ttft_) v.push_back(ms);
    p.ttft_p50_ms = percentile(v, 50);
    p.ttft_p95_ms = percentile(v, 95);
    history_.push_back(p);
    while (history_.size() > config_.history) history_.pop_front();
    return p;
}

}  // namespace llorch::cluster
