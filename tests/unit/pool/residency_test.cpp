#include "pool/residency.h"

#include <gtest/gtest.h>

namespace llorch::pool {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t MiB = 1ull << 20;
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

resident idle(std::string id, uint64_t mib, std::chrono::seconds used,
              std::string device = "gpu:0") {
    return {.id = std::move(id),
            .device = std::move(device),
            .bytes = mib * MiB,
            .busy = false,
            .loading = false,
            .pinned = false,
            .last_used = t0 + used};
}

TEST(residency, fits_without_eviction_when_free_memory_suffices) {
    auto p = plan_load(100 * MiB, {"gpu:0", 200 * MiB, 1000 * MiB}, {idle("a", 500, 0s)});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->device, "gpu:0");
    EXPECT_TRUE(p->evict.empty());
}

TEST(residency, evicts_least_recently_used_idle_instances_first) {
    std::vector<resident> on = {idle("newest", 300, 30s), idle("oldest", 300, 10s),
                                idle("middle", 300, 20s)};
    auto p = plan_load(500 * MiB, {"gpu:0", 100 * MiB, 1000 * MiB}, on);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->evict, (std::vector<std::string>{"oldest", "middle"}));
}

TEST(residency, never_evicts_a_busy_instance) {
    auto busy = idle("busy", 800, 0s);
    busy.busy = true;
    std::vector<resident> on = {busy, idle("idle", 100, 50s)};
    auto p = plan_load(500 * MiB, {"gpu:0", 100 * MiB, 1000 * MiB}, on);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, residency_errc::must_wait);
    // Once the idle one suffices, only it goes.
    auto q = plan_load(150 * MiB, {"gpu:0", 100 * MiB, 1000 * MiB}, on);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->evict, std::vector<std::string>{"idle"});
}

TEST(residency, never_evicts_an_instance_still_loading_or_pinned) {
    auto loading = idle("loading", 500, 0s);
    loading.loading = true;
    auto pinned = idle("pinned", 500, 1s);
    pinned.pinned = true;
    auto p = plan_load(300 * MiB, {"gpu:0", 0, 1000 * MiB}, {loading, pinned});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, residency_errc::must_wait);
}

TEST(residency, only_instances_on_the_same_device_are_evicted) {
    std::vector<resident> on = {idle("other", 900, 0s, "gpu:1"), idle("here", 200, 5s)};
    auto p = plan_load(250 * MiB, {"gpu:0", 100 * MiB, 1000 * MiB}, on);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->evict, std::vector<std::string>{"here"});
}

TEST(residency, a_model_larger_than_the_device_never_fits_and_the_message_says_so) {
    auto p = plan_load(2000 * MiB, {"cpu", 1000 * MiB, 1000 * MiB}, {});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, residency_errc::never_fits);
    EXPECT_NE(p.error().message.find("2000 MiB"), std::string::npos);
    EXPECT_NE(p.error().message.find("cpu has 1000 MiB"), std::string::npos);
}

TEST(residency, chooses_the_device_with_most_free_memory_before_evicting) {
    std::vector<device_memory> devs = {{"gpu:0", 300 * MiB, 1000 * MiB},
                                       {"gpu:1", 600 * MiB, 1000 * MiB},
                                       {"gpu:2", 50 * MiB, 1000 * MiB}};
    auto p = choose_device(200 * MiB, devs, {idle("x", 900, 0s, "gpu:2")});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->device, "gpu:1");
    EXPECT_TRUE(p->evict.empty());
    // Nothing fits clean: the device that evicts the fewest bytes.
    devs = {{"gpu:0", 0, 1000 * MiB}, {"gpu:1", 0, 1000 * MiB}};
    p = choose_device(200 * MiB, devs,
                      {idle("big", 800, 0s, "gpu:0"), idle("small", 300, 9s, "gpu:1")});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->device, "gpu:1");
    EXPECT_EQ(p->evict, std::vector<std::string>{"small"});
}

TEST(residency, choose_device_prefers_waiting_over_never_fitting) {
    auto busy = idle("busy", 900, 0s, "gpu:1");
    busy.busy = true;
    std::vector<device_memory> devs = {{"gpu:0", 100 * MiB, 100 * MiB}, {"gpu:1", 0, 1000 * MiB}};
    auto p = choose_device(500 * MiB, devs, {busy});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, residency_errc::must_wait);
    EXPECT_FALSE(choose_device(1, {}, {}));
}

}  // namespace
}  // namespace llorch::pool
