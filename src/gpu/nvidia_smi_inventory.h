#pragma once
// nvidia_smi_inventory: GPU discovery by running nvidia-smi and parsing its CSV output; the
// fallback when NVML cannot be loaded. Each discover() runs one process (blocking, about 50 ms
// on a healthy driver), so call it from a blocking-work thread. Stateless apart from the
// command; safe to call from several threads.

#include <string>
#include <string_view>
#include <vector>

#include "gpu/gpu_inventory.h"

namespace llorch::gpu {

// The fields asked of nvidia-smi, in the order parse_nvidia_smi_csv expects them.
inline constexpr std::string_view nvidia_smi_query_fields =
    "index,uuid,name,memory.total,memory.used,memory.free,compute_cap,driver_version";

struct nvidia_smi_parse_result {
    std::vector<gpu_info> gpus;
    std::vector<std::string> errors;  // one per malformed line: "line 3: ..."
};

// Parses the output of `nvidia-smi --query-gpu=<nvidia_smi_query_fields>
// --format=csv,noheader,nounits`: memory in MiB (converted to bytes), fields separated by commas
// and optional spaces, "[N/A]" or "[Not Supported]" for unknown values (0 or empty), blank
// lines ignored. A malformed line is reported in errors and skipped; the others still count.
nvidia_smi_parse_result parse_nvidia_smi_csv(std::string_view text);

class nvidia_smi_inventory final : public gpu_inventory {
  public:
    // Runs `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` found on PATH.
    nvidia_smi_inventory();
    // Runs this shell command instead and parses its stdout (tests use a recorded output).
    explicit nvidia_smi_inventory(std::string command);

    discovery_result discover() override;

  private:
    std::string command_;
};

}  // namespace llorch::gpu
