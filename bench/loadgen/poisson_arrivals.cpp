#include "loadgen/poisson_arrivals.h"

#include <cmath>

namespace llorch::bench {

poisson_arrivals::poisson_arrivals(double rate_per_s, uint64_t seed)
    : rate_(rate_per_s > 0 ? rate_per_s : 1.0), rng_(seed) {}

double poisson_arrivals::next_gap_s() {
    // 53 random bits to a double in [0, 1) by hand: std's distributions differ between libraries.
    double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return -std::log1p(-u) / rate_;
}

}  // namespace llorch::bench
