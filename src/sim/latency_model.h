#pragma once
// A latency distribution for the engine simulator: fixed, uniform over [min, max], or exponential
// with a mean. A value type; sampled with the caller's seeded generator, so one seed gives one
// sequence on every platform (the conversions are done here, not by <random>'s distributions).

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "sim/sim_error.h"

namespace llorch::sim {

class latency_model {
  public:
    enum class kind { fixed, uniform, exponential };
    using duration = std::chrono::microseconds;

    latency_model() = default;
    static latency_model fixed(duration d);
    static latency_model uniform(duration min, duration max);
    // Draws are capped at cap_factor × mean: one unlucky draw must not stall a benchmark.
    static latency_model exponential(duration mean);
    static constexpr int cap_factor = 20;

    // "20ms", "fixed:20ms", "uniform:10ms..30ms", "exp:20ms". Units us, ms, s; a bare number is
    // milliseconds. The error names what is wrong with the spec.
    static sim_result<latency_model> parse(std::string_view spec);

    duration sample(std::mt19937_64& rng) const;

    kind type() const { return kind_; }
    duration min() const { return a_; }
    // Upper bound of any sample (the cap for exponential).
    duration max() const;
    duration mean() const;
    std::string describe() const;

  private:
    kind kind_ = kind::fixed;
    duration a_{0};  // fixed value, uniform min, exponential mean
    duration b_{0};  // uniform max
};

// "250us", "20ms", "1.5s", "20" (milliseconds). Non-negative.
sim_result<std::chrono::microseconds> parse_duration(std::string_view text);

// A double in [0, 1) from 53 random bits: the same on every standard library.
double unit_interval(std::mt19937_64& rng);

}  // namespace llorch::sim
