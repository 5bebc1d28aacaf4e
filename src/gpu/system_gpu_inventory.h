#pragma once
// system_gpu_inventory: the GPUs of this machine, asked of NVML first, then of nvidia-smi, else
// none with the reasons of both. Owned by whoever refreshes the inventory (pool-managerd, or
// the process-wide instance behind detect_gpus()); calls may come from any thread and are
// serialised, because NVML is kept loaded and initialised between them.

#include <mutex>

#include "gpu/gpu_inventory.h"
#include "gpu/nvidia_smi_inventory.h"
#include "gpu/nvml_inventory.h"

namespace llorch::gpu {

class system_gpu_inventory final : public gpu_inventory {
  public:
    system_gpu_inventory() = default;
    system_gpu_inventory(nvml_inventory nvml, nvidia_smi_inventory smi);

    discovery_result discover() override;

  private:
    std::mutex mutex_;
    nvml_inventory nvml_;
    nvidia_smi_inventory smi_;
};

}  // namespace llorch::gpu
