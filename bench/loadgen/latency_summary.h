#pragma once
// Percentiles of a set of latency samples, as the benchmark reports print them. Nearest-rank
// percentiles (the sample at rank ceil(p * n)), so every figure is a latency that was observed.

#include <cstddef>
#include <vector>

namespace llorch::bench {

struct latency_summary {
    size_t count = 0;
    double mean = 0;
    double p50 = 0;
    double p90 = 0;
    double p99 = 0;
    double max = 0;
};

// Takes the samples by value: they are sorted in place. No samples: all zero.
latency_summary summarize(std::vector<double> samples);

// Nearest-rank percentile of sorted samples; p in [0, 1]. Empty: 0.
double percentile_sorted(const std::vector<double>& sorted, double p);

}  // namespace llorch::bench
