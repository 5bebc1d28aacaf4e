#include "placement/weighted_sampler.h"

#include <gtest/gtest.h>

#include <map>

namespace llorch::placement {
namespace {

TEST(weighted_sampler, picks_each_id_over_exactly_its_weight_range) {
    weighted_sampler s;
    s.insert(10, 1);
    s.insert(20, 0);
    s.insert(30, 3);
    ASSERT_EQ(s.total(), 4);
    std::map<uint32_t, int> hits;
    for (uint64_t u = 0; u < 4; ++u) ++hits[s.pick(u)];
    EXPECT_EQ(hits, (std::map<uint32_t, int>{{10, 1}, {30, 3}}));
}

TEST(weighted_sampler, erase_and_reweight_keep_ranges_exact_across_growth) {
    weighted_sampler s;
    for (uint32_t id = 0; id < 100; ++id) s.insert(id, 1);
    for (uint32_t id = 0; id < 100; id += 2) s.erase(id);  // swap-removes move the odd ids
    s.set_weight(99, 51);
    ASSERT_EQ(s.total(), 100);
    std::map<uint32_t, int> hits;
    for (uint64_t u = 0; u < 100; ++u) ++hits[s.pick(u)];
    EXPECT_EQ(hits.size(), 50u);
    EXPECT_EQ(hits[99], 51);
    EXPECT_EQ(hits[1], 1);
    EXPECT_EQ(hits.count(2), 0u);
    EXPECT_FALSE(s.set_weight(2, 5));
}

}  // namespace
}  // namespace llorch::placement
