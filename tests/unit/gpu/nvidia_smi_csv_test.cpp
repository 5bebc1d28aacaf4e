#include <gtest/gtest.h>

#include "gpu/nvidia_smi_inventory.h"

namespace llorch::gpu {
namespace {

constexpr uint64_t mib = 1024ULL * 1024ULL;

// Recorded on an H100 SXM node (driver 580.95.05) with
// nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits.
constexpr std::string_view h100_line =
    "0, GPU-5f3e2c1a-8b7d-4e6f-9a0b-1c2d3e4f5a6b, NVIDIA H100 80GB HBM3, 81559, 0, 81079, 9.0, "
    "580.95.05\n";

TEST(nvidia_smi_csv, parses_one_h100_line_into_bytes) {
    const auto parsed = parse_nvidia_smi_csv(h100_line);
    ASSERT_TRUE(parsed.errors.empty());
    ASSERT_EQ(parsed.gpus.size(), 1U);
    const auto& gpu = parsed.gpus[0];
    EXPECT_EQ(gpu.index, 0);
    EXPECT_EQ(gpu.uuid, "GPU-5f3e2c1a-8b7d-4e6f-9a0b-1c2d3e4f5a6b");
    EXPECT_EQ(gpu.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(gpu.memory_total_bytes, 81559 * mib);
    EXPECT_EQ(gpu.memory_used_bytes, 0U);
    EXPECT_EQ(gpu.memory_free_bytes, 81079 * mib);
    EXPECT_EQ(gpu.compute_capability, "9.0");
    EXPECT_EQ(gpu.driver_version, "580.95.05");
}

TEST(nvidia_smi_csv, parses_two_gpus_in_order) {
    const auto parsed = parse_nvidia_smi_csv(
        "0, GPU-aaaa, NVIDIA GeForce RTX 4090, 24564, 1234, 22851, 8.9, 550.54.14\n"
        "1, GPU-bbbb, NVIDIA RTX A6000, 49140, 5, 48618, 8.6, 550.54.14\n");
    ASSERT_TRUE(parsed.errors.empty());
    ASSERT_EQ(parsed.gpus.size(), 2U);
    EXPECT_EQ(parsed.gpus[0].index, 0);
    EXPECT_EQ(parsed.gpus[0].memory_used_bytes, 1234 * mib);
    EXPECT_EQ(parsed.gpus[1].index, 1);
    EXPECT_EQ(parsed.gpus[1].uuid, "GPU-bbbb");
    EXPECT_EQ(parsed.gpus[1].name, "NVIDIA RTX A6000");
    EXPECT_EQ(parsed.gpus[1].compute_capability, "8.6");
}

TEST(nvidia_smi_csv, tolerates_missing_spaces_crlf_and_blank_lines) {
    const auto parsed =
        parse_nvidia_smi_csv("\n  \n0,GPU-x,Tesla T4,15360,0,14930,7.5,535.104.05\r\n\r\n");
    ASSERT_TRUE(parsed.errors.empty());
    ASSERT_EQ(parsed.gpus.size(), 1U);
    EXPECT_EQ(parsed.gpus[0].name, "Tesla T4");
    EXPECT_EQ(parsed.gpus[0].memory_total_bytes, 15360 * mib);
    EXPECT_EQ(parsed.gpus[0].driver_version, "535.104.05");
}

TEST(nvidia_smi_csv, treats_na_fields_as_unknown) {
    // Grace Hopper and some vGPU profiles print [N/A] for memory; old drivers lack compute_cap.
    const auto parsed = parse_nvidia_smi_csv(
        "0, GPU-gh, NVIDIA GH200 480GB, [N/A], [N/A], [Not Supported], [N/A], 560.35.03\n");
    ASSERT_TRUE(parsed.errors.empty());
    ASSERT_EQ(parsed.gpus.size(), 1U);
    EXPECT_EQ(parsed.gpus[0].memory_total_bytes, 0U);
    EXPECT_EQ(parsed.gpus[0].memory_used_bytes, 0U);
    EXPECT_EQ(parsed.gpus[0].memory_free_bytes, 0U);
    EXPECT_EQ(parsed.gpus[0].compute_capability, "");
    EXPECT_EQ(parsed.gpus[0].driver_version, "560.35.03");
}

TEST(nvidia_smi_csv, reports_malformed_lines_and_keeps_the_good_ones) {
    const auto parsed = parse_nvidia_smi_csv(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
        "0, GPU-a, NVIDIA H100 80GB HBM3, 81559, 0, 81079, 9.0, 580.95.05\n"
        "x, GPU-b, NVIDIA H100 80GB HBM3, 81559, 0, 81079, 9.0, 580.95.05\n"
        "2, GPU-c, NVIDIA H100 80GB HBM3, lots, 0, 81079, 9.0, 580.95.05\n"
        "3, GPU-d, NVIDIA H100 80GB HBM3, 81559, 0, 81079, 9.0, 580.95.05, extra\n");
    ASSERT_EQ(parsed.gpus.size(), 1U);
    EXPECT_EQ(parsed.gpus[0].uuid, "GPU-a");
    ASSERT_EQ(parsed.errors.size(), 4U);
    EXPECT_EQ(parsed.errors[0].rfind("line 1: expected 8 fields, got 1", 0), 0U)
        << parsed.errors[0];
    EXPECT_EQ(parsed.errors[1].rfind("line 3: index is not a number", 0), 0U) << parsed.errors[1];
    EXPECT_EQ(parsed.errors[2].rfind("line 4: memory is not a whole number of MiB", 0), 0U)
        << parsed.errors[2];
    EXPECT_EQ(parsed.errors[3].rfind("line 5: expected 8 fields, got 9", 0), 0U)
        << parsed.errors[3];
}

TEST(nvidia_smi_csv, rejects_negative_index_and_memory) {
    const auto parsed = parse_nvidia_smi_csv(
        "-1, GPU-a, X, 1, 0, 1, 9.0, 1\n"
        "0, GPU-a, X, -5, 0, 1, 9.0, 1\n");
    EXPECT_TRUE(parsed.gpus.empty());
    EXPECT_EQ(parsed.errors.size(), 2U);
}

TEST(nvidia_smi_csv, empty_output_is_no_gpu_and_no_error) {
    const auto parsed = parse_nvidia_smi_csv("");
    EXPECT_TRUE(parsed.gpus.empty());
    EXPECT_TRUE(parsed.errors.empty());
}

}  // namespace
}  // namespace llorch::gpu
