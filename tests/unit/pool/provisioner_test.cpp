// check_provision decides from the facts alone: one provision_errc per reason, a message that
// says what to do, and the plan's GPUs in the order the device names them.
#include <gtest/gtest.h>

#include "pool/provisioner.h"

namespace llorch::pool {
namespace {

pool_config cpu_pool() {
    pool_config c;
    c.id = "p";
    c.engine = engine_kind::llamacpp;
    c.model = "/models/tiny.gguf";
    c.device = "cpu";
    c.slots = 4;
    c.ctx = 1024;
    return c;
}

pool_config gpu_pool(std::vector<int> gpus) {
    auto c = cpu_pool();
    c.device = "gpu:0";
    c.gpus = std::move(gpus);
    return c;
}

provision_facts present() {
    provision_facts f;
    f.engine = "/opt/llama-server";
    f.engine_exists = true;
    f.model_exists = true;
    return f;
}

gpu::gpu_info gpu_with(int index, uint64_t free_mib) {
    gpu::gpu_info g;
    g.index = index;
    g.memory_total_bytes = 80ull << 30;
    g.memory_free_bytes = free_mib << 20;
    return g;
}

provision_errc refusal(const provision_result<provision_plan>& r) {
    EXPECT_FALSE(r);
    return r ? provision_errc::engine_not_built : r.error().code;
}

TEST(check_provision, a_cpu_pool_with_engine_and_model_may_start) {
    auto r = check_provision(cpu_pool(), "/models/tiny.gguf", present());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->gpus.empty());
}

TEST(check_provision, an_engine_run_elsewhere_is_never_checked) {
    provision_facts f;
    f.runs_engine = false;
    EXPECT_TRUE(check_provision(cpu_pool(), "remote-model", f));
}

TEST(check_provision, no_built_engine_says_how_to_build_it) {
    auto f = present();
    f.engine.clear();
    auto r = check_provision(cpu_pool(), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::engine_not_built);
    EXPECT_NE(r.error().message.find("scripts/build-engine.sh"), std::string::npos);
}

TEST(check_provision, a_missing_engine_or_model_file_is_named) {
    auto f = present();
    f.engine_exists = false;
    auto r = check_provision(cpu_pool(), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::engine_not_found);
    EXPECT_NE(r.error().message.find("/opt/llama-server"), std::string::npos);

    f = present();
    f.model_exists = false;
    r = check_provision(cpu_pool(), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::model_not_found);
    EXPECT_NE(r.error().message.find("llorch model make-tiny"), std::string::npos);
}

TEST(check_provision, a_sim_pool_serves_a_model_by_name_without_a_file) {
    auto c = cpu_pool();
    c.engine = engine_kind::sim;
    auto f = present();
    f.model_exists = false;
    EXPECT_TRUE(check_provision(c, "sim-model", f));
}

TEST(check_provision, a_gpu_pool_without_gpus_is_pool_unavailable_with_the_reason) {
    auto f = present();
    f.discovery = gpu::discovery_result{};
    f.discovery->reason = "no NVIDIA driver";
    auto r = check_provision(gpu_pool({0}), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::no_gpu);
    EXPECT_NE(r.error().message.find("POOL_UNAVAILABLE"), std::string::npos);
    EXPECT_NE(r.error().message.find("no NVIDIA driver"), std::string::npos);
}

TEST(check_provision, a_gpu_index_the_machine_lacks_is_named) {
    auto f = present();
    f.discovery = gpu::discovery_result{};
    f.discovery->gpus = {gpu_with(0, 1000)};
    f.vram = vram_need{100 << 20, 10 << 20, 0};
    auto r = check_provision(gpu_pool({0, 3}), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::gpu_not_found);
    EXPECT_NE(r.error().message.find("GPU 3"), std::string::npos);
}

TEST(check_provision, the_vram_policy_compares_the_need_with_the_free_memory_of_the_pools_gpus) {
    auto f = present();
    f.discovery = gpu::discovery_result{};
    f.discovery->gpus = {gpu_with(0, 300), gpu_with(1, 300), gpu_with(2, 10'000)};
    f.vram = vram_need{500ull << 20, 50ull << 20, 0};
    auto fits = check_provision(gpu_pool({1, 0}), "/models/tiny.gguf", f);
    ASSERT_TRUE(fits);
    ASSERT_EQ(fits->gpus.size(), 2u);
    EXPECT_EQ(fits->gpus[0].index, 1);
    EXPECT_EQ(fits->gpus[1].index, 0);

    f.vram = vram_need{700ull << 20, 50ull << 20, 0};
    auto r = check_provision(gpu_pool({1, 0}), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::vram_insufficient);
    EXPECT_NE(r.error().message.find("750 MiB"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("600 MiB free"), std::string::npos) << r.error().message;

    f.vram = pool_error{pool_errc::model_unreadable, "not a GGUF file"};
    r = check_provision(gpu_pool({0}), "/models/tiny.gguf", f);
    EXPECT_EQ(refusal(r), provision_errc::vram_unknown);
    EXPECT_NE(r.error().message.find("not a GGUF file"), std::string::npos);
}

}  // namespace
}  // namespace llorch::pool
