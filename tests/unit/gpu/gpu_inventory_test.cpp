#include <gtest/gtest.h>

#include "gpu/gpu_inventory.h"
#include "gpu/nvidia_smi_inventory.h"
#include "gpu/nvml_inventory.h"
#include "gpu/system_gpu_inventory.h"

namespace llorch::gpu {
namespace {

constexpr std::string_view missing_library = "/nonexistent/llorch-test/libnvidia-ml.so.1";

TEST(nvml_inventory, reports_a_missing_library_as_none_with_reason) {
    nvml_inventory nvml({std::string(missing_library)});
    const auto result = nvml.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_TRUE(result.gpus.empty());
    EXPECT_EQ(result.reason, std::string(missing_library) + " not found");
    // Asking again retries the load and gives the same answer.
    EXPECT_EQ(nvml.discover().reason, result.reason);
}

TEST(nvml_inventory, reports_a_library_that_is_not_nvml) {
    // libc loads fine but has none of NVML's symbols.
    nvml_inventory nvml({"libc.so.6"});
    const auto result = nvml.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_EQ(result.reason, "libc.so.6 lacks nvmlInit_v2 (driver too old?)");
}

TEST(nvidia_smi_inventory, parses_the_output_of_the_command) {
    nvidia_smi_inventory smi(
        "printf '0, GPU-a, NVIDIA H100 80GB HBM3, 81559, 0, 81079, 9.0, 580.95.05\\n'");
    const auto result = smi.discover();
    EXPECT_EQ(result.source, gpu_source::nvidia_smi);
    ASSERT_EQ(result.gpus.size(), 1U);
    EXPECT_EQ(result.gpus[0].name, "NVIDIA H100 80GB HBM3");
    EXPECT_TRUE(result.reason.empty());
}

TEST(nvidia_smi_inventory, reports_a_missing_program_as_not_on_path) {
    nvidia_smi_inventory smi("/nonexistent/llorch-test/nvidia-smi --query-gpu=index");
    const auto result = smi.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_EQ(result.reason, "nvidia-smi not on PATH");
}

TEST(nvidia_smi_inventory, reports_a_failing_driver_with_its_message) {
    nvidia_smi_inventory smi(
        "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"; "
        "exit 9");
    const auto result = smi.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_EQ(result.reason,
              "nvidia-smi failed (exit 9): NVIDIA-SMI has failed because it couldn't communicate "
              "with the NVIDIA driver.");
}

TEST(nvidia_smi_inventory, reports_output_it_cannot_parse) {
    nvidia_smi_inventory smi("echo garbage");
    const auto result = smi.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_EQ(result.reason.rfind("nvidia-smi output not understood: line 1:", 0), 0U)
        << result.reason;
    EXPECT_EQ(result.warnings.size(), 1U);
}

TEST(system_gpu_inventory, falls_back_to_nvidia_smi_when_nvml_is_missing) {
    system_gpu_inventory inventory(
        nvml_inventory({std::string(missing_library)}),
        nvidia_smi_inventory("printf '0, GPU-a, Tesla T4, 15360, 0, 14930, 7.5, 535.1\\n'"));
    const auto result = inventory.discover();
    EXPECT_EQ(result.source, gpu_source::nvidia_smi);
    ASSERT_EQ(result.gpus.size(), 1U);
    ASSERT_FALSE(result.warnings.empty());
    EXPECT_EQ(result.warnings[0],
              "NVML unavailable: " + std::string(missing_library) + " not found");
}

TEST(system_gpu_inventory, says_no_driver_when_neither_source_exists) {
    system_gpu_inventory inventory(nvml_inventory({std::string(missing_library)}),
                                   nvidia_smi_inventory("/nonexistent/llorch-test/nvidia-smi"));
    const auto result = inventory.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_TRUE(result.gpus.empty());
    EXPECT_EQ(result.reason, "no NVIDIA driver: " + std::string(missing_library) +
                                 " not found and nvidia-smi not on PATH");
}

TEST(system_gpu_inventory, names_both_reasons_when_the_driver_is_broken) {
    system_gpu_inventory inventory(nvml_inventory({"libc.so.6"}),
                                   nvidia_smi_inventory("echo 'driver mismatch'; exit 18"));
    const auto result = inventory.discover();
    EXPECT_EQ(result.source, gpu_source::none);
    EXPECT_EQ(result.reason,
              "no NVIDIA GPU: NVML: libc.so.6 lacks nvmlInit_v2 (driver too old?); nvidia-smi: "
              "nvidia-smi failed (exit 18): driver mismatch");
}

// Runs on whatever machine the tests run on: without a GPU it must say why, with one it must
// describe it; in both cases repeated calls are consistent.
TEST(detect_gpus, answers_consistently_on_this_machine) {
    const auto first = detect_gpus();
    const auto second = detect_gpus();
    EXPECT_EQ(first.source, second.source);
    EXPECT_EQ(first.gpus.size(), second.gpus.size());
    if (first.source == gpu_source::none) {
        EXPECT_TRUE(first.gpus.empty());
        EXPECT_FALSE(first.reason.empty());
    } else {
        for (const auto& gpu : first.gpus) {
            EXPECT_FALSE(gpu.uuid.empty());
            EXPECT_FALSE(gpu.name.empty());
            EXPECT_GT(gpu.memory_total_bytes, 0U);
            EXPECT_LE(gpu.memory_free_bytes, gpu.memory_total_bytes);
        }
    }
}

TEST(gpu_source, has_stable_names) {
    EXPECT_EQ(to_string(gpu_source::none), "none");
    EXPECT_EQ(to_string(gpu_source::nvml), "nvml");
    EXPECT_EQ(to_string(gpu_source::nvidia_smi), "nvidia-smi");
}

}  // namespace
}  // namespace llorch::gpu
