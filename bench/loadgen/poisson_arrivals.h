#pragma once
// Arrival times of an open-loop load: a Poisson process at a given rate, from a seed, so one
// seed gives one sequence of gaps on every platform. A value type used by one thread.

#include <cstdint>
#include <random>

namespace llorch::bench {

class poisson_arrivals {
  public:
    poisson_arrivals(double rate_per_s, uint64_t seed);
    // Seconds until the next arrival: exponential with mean 1 / rate.
    double next_gap_s();

  private:
    double rate_;
    std::mt19937_64 rng_;
};

}  // namespace llorch::bench
