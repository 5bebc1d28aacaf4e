#pragma once
// The bound the memory estimate keeps against what llama-server reports when it loads (its
// "<device> model|KV|output|compute buffer size = X MiB" lines at -lv 4): shared by the unit
// table (tests/unit/pool/vram_estimate_test.cpp) and the live check
// (tests/integration/vram_calibration_test.cpp), so both hold the estimate to the same rule.

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "pool/vram_estimate.h"

namespace llorch::test {

// The engine's figures in MiB, summed over devices, as it prints them (two decimals).
struct reported_memory {
    double model = 0;
    double kv = 0;
    double output = 0;
    double compute = 0;
    double total() const { return model + kv + output + compute; }
};

// Never below: each part of the estimate covers the engine's figure for it (weights the model
// buffers, KV the KV buffers, compute the output and compute buffers), up to the 0.01 MiB the
// engine's rounding hides. At most above: the three parts together exceed the engine's total by
// no more than 10 % plus 2 MiB. The fixed allowance for what the engine does not report
// (pool::engine_allowance) is outside the bound.
inline constexpr double bound_percent = 10.0;
inline constexpr double bound_mib = 2.0;

inline double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

inline double estimated_mib(const pool::vram_need& n) {
    return mib(n.weights_bytes + n.kv_bytes + n.compute_bytes);
}

inline double error_percent(const pool::vram_need& n, const reported_memory& r) {
    return (estimated_mib(n) / r.total() - 1.0) * 100.0;
}

// Empty when the estimate keeps the bound, else what it breaks.
inline std::string check_memory_bound(const pool::vram_need& n, const reported_memory& r) {
    constexpr double rounding = 0.01;
    std::string why;
    if (mib(n.weights_bytes) + rounding < r.model)
        why += fmt::format("weights {:.2f} MiB < model buffers {:.2f} MiB; ", mib(n.weights_bytes),
                           r.model);
    if (mib(n.kv_bytes) + rounding < r.kv)
        why += fmt::format("KV {:.2f} MiB < KV buffers {:.2f} MiB; ", mib(n.kv_bytes), r.kv);
    if (mib(n.compute_bytes) + rounding < r.output + r.compute)
        why += fmt::format("compute {:.2f} MiB < output + compute buffers {:.2f} MiB; ",
                           mib(n.compute_bytes), r.output + r.compute);
    const double limit = r.total() * (1 + bound_percent / 100) + bound_mib;
    if (estimated_mib(n) > limit)
        why += fmt::format("estimate {:.2f} MiB > {:.2f} MiB (engine {:.2f} MiB + {}% + {} MiB); ",
                           estimated_mib(n), limit, r.total(), bound_percent, bound_mib);
    return why;
}

}  // namespace llorch::test
