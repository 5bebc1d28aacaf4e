#include "gpu/system_gpu_inventory.h"

namespace llorch::gpu {

system_gpu_inventory::system_gpu_inventory(nvml_inventory nvml, nvidia_smi_inventory smi)
    : nvml_(std::move(nvml)), smi_(std::move(smi)) {}

discovery_result system_gpu_inventory::discover() {
    std::lock_guard lock(mutex_);
    auto from_nvml = nvml_.discover();
    if (from_nvml.source != gpu_source::none) return from_nvml;

    auto from_smi = smi_.discover();
    if (from_smi.source != gpu_source::none) {
        // Worth knowing: NVML is the cheaper and richer source.
        from_smi.warnings.insert(from_smi.warnings.begin(),
                                 "NVML unavailable: " + from_nvml.reason);
        return from_smi;
    }

    discovery_result none;
    const bool no_driver =
        from_nvml.reason.ends_with(" not found") && from_smi.reason == "nvidia-smi not on PATH";
    none.reason =
        no_driver ? "no NVIDIA driver: " + from_nvml.reason + " and " + from_smi.reason
                  : "no NVIDIA GPU: NVML: " + from_nvml.reason + "; nvidia-smi: " + from_smi.reason;
    none.warnings = std::move(from_smi.warnings);
    return none;
}

}  // namespace llorch::gpu
