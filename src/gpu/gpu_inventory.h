#pragma once
// gpu_inventory: the test seam for GPU discovery. The pool manager owns one and calls discover()
// only on its blocking pool (NVML and nvidia-smi block): when it provisions a GPU pool and every
// discovery interval. Tests substitute a fake that returns recorded GPUs.

#include "gpu/gpu_info.h"

namespace llorch::gpu {

class gpu_inventory {
  public:
    virtual ~gpu_inventory() = default;

    // Never throws; when nothing answers, the result's source is none and reason says why.
    virtual discovery_result discover() = 0;
};

// This machine's GPUs through one process-wide system_gpu_inventory (NVML, then nvidia-smi).
// Cheap to call repeatedly: NVML stays loaded between calls. Thread-safe.
discovery_result detect_gpus();

}  // namespace llorch::gpu
