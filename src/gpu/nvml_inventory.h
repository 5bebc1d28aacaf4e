#pragma once
// nvml_inventory: GPU discovery through NVML, loaded at run time with dlopen so that the binary
// runs (and reports "no NVIDIA driver") on machines without one. The library is opened and
// nvmlInit_v2 called on the first discover(), and kept until destruction so that periodic
// refreshes cost only the per-device queries. Owned by one system_gpu_inventory; not
// thread-safe on its own (the owner serialises calls).

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gpu/gpu_inventory.h"

namespace llorch::gpu {

class nvml_inventory final : public gpu_inventory {
  public:
    // The default looks for libnvidia-ml.so.1 on the loader's path, then in the directory where
    // NVIDIA's container toolkit mounts it.
    nvml_inventory();
    // Tries these library paths in order (tests pass a path that does not exist).
    explicit nvml_inventory(std::vector<std::string> library_candidates);
    ~nvml_inventory() override;
    nvml_inventory(nvml_inventory&&) noexcept;
    nvml_inventory& operator=(nvml_inventory&&) noexcept;

    discovery_result discover() override;

  private:
    struct library;
    std::vector<std::string> candidates_;
    std::unique_ptr<library> lib_;
    std::string load_error_;  // why the last load failed; retried on the next discover()
};

}  // namespace llorch::gpu
