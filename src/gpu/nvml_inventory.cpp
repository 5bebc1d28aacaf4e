#include "gpu/nvml_inventory.h"

#include <dlfcn.h>

#include <array>
#include <string_view>

namespace llorch::gpu {
namespace {

// The few NVML declarations used here, as in NVIDIA's nvml.h (which is not installed on machines
// without the CUDA toolkit). The ABI of these entry points is stable across driver versions.
using nvml_return = int;
constexpr nvml_return nvml_success = 0;
struct nvml_device_st;
using nvml_device = nvml_device_st*;
struct nvml_memory {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};
// nvmlMemory_v2_t: "used" without the driver's reserved memory, as nvidia-smi reports it.
struct nvml_memory_v2 {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
};
// nvmlUtilization_t: percent of the last sample period a kernel (gpu) or memory access ran.
struct nvml_utilization {
    unsigned int gpu;
    unsigned int memory;
};
// NVML_STRUCT_VERSION(Memory, 2).
constexpr unsigned int nvml_memory_v2_version =
    static_cast<unsigned int>(sizeof(nvml_memory_v2)) | (2U << 24U);
constexpr unsigned int nvml_uuid_buffer_size = 96;    // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned int nvml_name_buffer_size = 96;    // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int nvml_driver_buffer_size = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

std::vector<std::string> default_candidates() {
    // The second is where NVIDIA's container toolkit mounts the driver in many images.
    return {"libnvidia-ml.so.1", "/usr/local/nvidia/lib64/libnvidia-ml.so.1"};
}

}  // namespace

struct nvml_inventory::library {
    void* handle = nullptr;
    bool initialised = false;

    nvml_return (*init)() = nullptr;
    nvml_return (*shutdown)() = nullptr;
    const char* (*error_string)(nvml_return) = nullptr;  // optional
    nvml_return (*get_count)(unsigned int*) = nullptr;
    nvml_return (*get_handle)(unsigned int, nvml_device*) = nullptr;
    nvml_return (*get_uuid)(nvml_device, char*, unsigned int) = nullptr;
    nvml_return (*get_name)(nvml_device, char*, unsigned int) = nullptr;
    nvml_return (*get_memory)(nvml_device, nvml_memory*) = nullptr;
    nvml_return (*get_memory_v2)(nvml_device, nvml_memory_v2*) = nullptr;  // optional
    nvml_return (*get_cuda_cc)(nvml_device, int*, int*) = nullptr;
    nvml_return (*get_utilization)(nvml_device, nvml_utilization*) = nullptr;  // optional
    nvml_return (*get_driver_version)(char*, unsigned int) = nullptr;

    library() = default;
    library(const library&) = delete;
    library& operator=(const library&) = delete;
    ~library() {
        if (initialised) shutdown();
        if (handle != nullptr) ::dlclose(handle);
    }

    std::string describe(nvml_return code) const {
        std::string text = "error " + std::to_string(code);
        if (error_string != nullptr) {
            if (const char* s = error_string(code); s != nullptr)
                text += " (" + std::string(s) + ")";
        }
        return text;
    }
};

namespace {

template <typename Fn>
bool resolve(void* handle, const char* symbol, Fn& fn) {
    fn = reinterpret_cast<Fn>(::dlsym(handle, symbol));
    return fn != nullptr;
}

}  // namespace

nvml_inventory::nvml_inventory() : nvml_inventory(default_candidates()) {}

nvml_inventory::nvml_inventory(std::vector<std::string> library_candidates)
    : candidates_(std::move(library_candidates)) {}

nvml_inventory::~nvml_inventory() = default;
nvml_inventory::nvml_inventory(nvml_inventory&&) noexcept = default;
nvml_inventory& nvml_inventory::operator=(nvml_inventory&&) noexcept = default;

discovery_result nvml_inventory::discover() {
    discovery_result result;
    if (!lib_) {
        auto lib = std::make_unique<library>();
        std::string errors;
        bool only_missing = true;
        for (const auto& candidate : candidates_) {
            lib->handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (lib->handle != nullptr) break;
            const char* error = ::dlerror();
            const std::string text = error != nullptr ? error : candidate + ": not loadable";
            if (text.find("No such file or directory") == std::string::npos) only_missing = false;
            errors += (errors.empty() ? "" : "; ") + text;
        }
        const std::string name = candidates_.empty() ? "libnvidia-ml.so.1" : candidates_.front();
        if (lib->handle == nullptr) {
            result.reason =
                only_missing ? name + " not found" : "cannot load " + name + ": " + errors;
            return result;
        }
        const std::array<std::pair<const char*, bool>, 9> required = {{
            {"nvmlInit_v2", resolve(lib->handle, "nvmlInit_v2", lib->init)},
            {"nvmlShutdown", resolve(lib->handle, "nvmlShutdown", lib->shutdown)},
            {"nvmlDeviceGetCount_v2",
             resolve(lib->handle, "nvmlDeviceGetCount_v2", lib->get_count)},
            {"nvmlDeviceGetHandleByIndex_v2",
             resolve(lib->handle, "nvmlDeviceGetHandleByIndex_v2", lib->get_handle)},
            {"nvmlDeviceGetUUID", resolve(lib->handle, "nvmlDeviceGetUUID", lib->get_uuid)},
            {"nvmlDeviceGetName", resolve(lib->handle, "nvmlDeviceGetName", lib->get_name)},
            {"nvmlDeviceGetMemoryInfo",
             resolve(lib->handle, "nvmlDeviceGetMemoryInfo", lib->get_memory)},
            {"nvmlDeviceGetCudaComputeCapability",
             resolve(lib->handle, "nvmlDeviceGetCudaComputeCapability", lib->get_cuda_cc)},
            {"nvmlSystemGetDriverVersion",
             resolve(lib->handle, "nvmlSystemGetDriverVersion", lib->get_driver_version)},
        }};
        for (const auto& [symbol, found] : required) {
            if (!found) {
                result.reason = name + " lacks " + symbol + " (driver too old?)";
                return result;
            }
        }
        resolve(lib->handle, "nvmlErrorString", lib->error_string);
        resolve(lib->handle, "nvmlDeviceGetMemoryInfo_v2", lib->get_memory_v2);
        resolve(lib->handle, "nvmlDeviceGetUtilizationRates", lib->get_utilization);
        if (const auto rc = lib->init(); rc != nvml_success) {
            // Kept unloaded so that the next refresh retries (a driver may come up later).
            result.reason = "nvmlInit_v2 failed: " + lib->describe(rc);
            return result;
        }
        lib->initialised = true;
        lib_ = std::move(lib);
    }

    unsigned int count = 0;
    if (const auto rc = lib_->get_count(&count); rc != nvml_success) {
        result.reason = "nvmlDeviceGetCount_v2 failed: " + lib_->describe(rc);
        return result;
    }
    result.source = gpu_source::nvml;

    std::array<char, nvml_driver_buffer_size> driver{};
    std::string driver_version;
    if (lib_->get_driver_version(driver.data(), driver.size()) == nvml_success) {
        driver_version = driver.data();
    }

    for (unsigned int i = 0; i < count; ++i) {
        const std::string subject = "GPU " + std::to_string(i) + ": ";
        nvml_device device = nullptr;
        if (const auto rc = lib_->get_handle(i, &device); rc != nvml_success) {
            // A GPU that fell off the bus answers here; the others are still usable.
            result.warnings.push_back(
                subject + "nvmlDeviceGetHandleByIndex_v2 failed: " + lib_->describe(rc));
            continue;
        }
        gpu_info gpu;
        gpu.index = static_cast<int>(i);
        gpu.driver_version = driver_version;

        std::array<char, nvml_uuid_buffer_size> uuid{};
        if (lib_->get_uuid(device, uuid.data(), uuid.size()) == nvml_success)
            gpu.uuid = uuid.data();
        std::array<char, nvml_name_buffer_size> name{};
        if (lib_->get_name(device, name.data(), name.size()) == nvml_success)
            gpu.name = name.data();

        nvml_memory_v2 memory_v2{};
        memory_v2.version = nvml_memory_v2_version;
        nvml_memory memory{};
        if (lib_->get_memory_v2 != nullptr &&
            lib_->get_memory_v2(device, &memory_v2) == nvml_success) {
            gpu.memory_total_bytes = memory_v2.total;
            gpu.memory_used_bytes = memory_v2.used;
            gpu.memory_free_bytes = memory_v2.free;
        } else if (const auto rc = lib_->get_memory(device, &memory); rc == nvml_success) {
            gpu.memory_total_bytes = memory.total;
            gpu.memory_used_bytes = memory.used;
            gpu.memory_free_bytes = memory.free;
        } else {
            result.warnings.push_back(subject +
                                      "nvmlDeviceGetMemoryInfo failed: " + lib_->describe(rc));
        }

        int major = 0;
        int minor = 0;
        if (lib_->get_cuda_cc(device, &major, &minor) == nvml_success) {
            gpu.compute_capability = std::to_string(major) + "." + std::to_string(minor);
        }
        nvml_utilization use{};
        if (lib_->get_utilization != nullptr && lib_->get_utilization(device, &use) == nvml_success)
            gpu.utilization = use.gpu / 100.0;
        result.gpus.push_back(std::move(gpu));
    }
    if (result.gpus.empty()) result.reason = "NVML reports no GPU";
    return result;
}

}  // namespace llorch::gpu
