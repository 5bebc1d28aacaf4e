#include "gpu/gpu_inventory.h"

#include "gpu/system_gpu_inventory.h"

namespace llorch::gpu {

std::string_view to_string(gpu_source source) {
    switch (source) {
        case gpu_source::nvml:
            return "nvml";
        case gpu_source::nvidia_smi:
            return "nvidia-smi";
        case gpu_source::none:
            break;
    }
    return "none";
}

discovery_result detect_gpus() {
    // Process-wide so that NVML is loaded and initialised once, not on every refresh.
    static system_gpu_inventory inventory;
    return inventory.discover();
}

}  // namespace llorch::gpu
