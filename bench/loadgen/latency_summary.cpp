#include "loadgen/latency_summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace llorch::bench {

double percentile_sorted(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    p = std::clamp(p, 0.0, 1.0);
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    return sorted[rank == 0 ? 0 : rank - 1];
}

latency_summary summarize(std::vector<double> samples) {
    latency_summary s;
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    s.count = samples.size();
    s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
    s.p50 = percentile_sorted(samples, 0.50);
    s.p90 = percentile_sorted(samples, 0.90);
    s.p99 = percentile_sorted(samples, 0.99);
    s.max = samples.back();
    return s;
}

}  // namespace llorch::bench
