#include "model/float16.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace llorch::model {
namespace {

TEST(float16, converts_exact_values_to_known_bit_patterns) {
    EXPECT_EQ(float_to_half(0.0f), 0x0000);
    EXPECT_EQ(float_to_half(-0.0f), 0x8000);
    EXPECT_EQ(float_to_half(1.0f), 0x3c00);
    EXPECT_EQ(float_to_half(-2.0f), 0xc000);
    EXPECT_EQ(float_to_half(0.5f), 0x3800);
    EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
}

TEST(float16, rounds_to_nearest_even) {
    // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even 1.
    EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
    // 1 + 3 * 2^-11 lies halfway between 0x3c01 and 0x3c02: ties go to the even 0x3c02.
    EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
    EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
    EXPECT_EQ(float_to_half(0.02f), 0x251f);
}

TEST(float16, saturates_to_infinity_and_flushes_tiny_values_to_zero) {
    EXPECT_EQ(float_to_half(70000.0f), 0x7c00);
    EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
    EXPECT_EQ(float_to_half(1e-9f), 0x0000);
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::quiet_NaN()) & 0x7c00, 0x7c00);
    EXPECT_NE(float_to_half(std::numeric_limits<float>::quiet_NaN()) & 0x03ff, 0);
}

TEST(float16, every_half_survives_a_round_trip_through_float) {
    for (uint32_t h = 0; h <= 0xffff; ++h) {
        const auto bits = static_cast<uint16_t>(h);
        const float f = half_to_float(bits);
        if (std::isnan(f)) continue;
        ASSERT_EQ(float_to_half(f), bits) << "half 0x" << std::hex << h;
    }
}

}  // namespace
}  // namespace llorch::model
