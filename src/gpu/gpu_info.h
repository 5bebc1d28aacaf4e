#pragma once
// What GPU discovery reports: one gpu_info per NVIDIA GPU, and which source answered. Plain
// values, copied freely between threads.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llorch::gpu {

struct gpu_info {
    int index = 0;  // the driver's index, as CUDA_VISIBLE_DEVICES and "gpu:N" use it
    std::string uuid;
    std::string name;
    // 0 when the source does not know (nvidia-smi prints "[N/A]" on some boards).
    uint64_t memory_total_bytes = 0;
    uint64_t memory_used_bytes = 0;
    uint64_t memory_free_bytes = 0;
    std::string compute_capability;  // "9.0"; empty when unknown
    std::string driver_version;      // "580.95.05"
    // Fraction of the last sample period a kernel ran (0..1); absent when the source cannot say.
    std::optional<double> utilization;

    friend bool operator==(const gpu_info&, const gpu_info&) = default;
};

enum class gpu_source { none, nvml, nvidia_smi };

// "none", "nvml", "nvidia-smi".
std::string_view to_string(gpu_source source);

struct discovery_result {
    gpu_source source = gpu_source::none;
    std::vector<gpu_info> gpus;
    // Why no GPU was found, for the operator: set whenever gpus is empty, e.g. "no NVIDIA
    // driver: libnvidia-ml.so.1 not found and nvidia-smi not on PATH".
    std::string reason;
    // Problems that did not stop discovery (a malformed nvidia-smi line, one GPU NVML could not
    // read); worth a warning in the log.
    std::vector<std::string> warnings;
};

}  // namespace llorch::gpu
