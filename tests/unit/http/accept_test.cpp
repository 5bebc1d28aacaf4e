#include "http/accept.h"

#include <gtest/gtest.h>

using namespace llorch::http;

TEST(parse_accept, reads_each_range_with_its_quality_in_order) {
    auto r = parse_accept("Text/HTML, application/json;q=0.5 , */*; charset=x ;Q=0.1,");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].type, "text/html");
    EXPECT_DOUBLE_EQ(r[0].q, 1.0);
    EXPECT_EQ(r[1].type, "application/json");
    EXPECT_DOUBLE_EQ(r[1].q, 0.5);
    EXPECT_EQ(r[2].type, "*/*");
    EXPECT_DOUBLE_EQ(r[2].q, 0.1);
}

TEST(parse_accept, clamps_quality_and_ignores_an_unreadable_one) {
    auto r = parse_accept("a/b;q=7,c/d;q=-1,e/f;q=x");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_DOUBLE_EQ(r[0].q, 1.0);
    EXPECT_DOUBLE_EQ(r[1].q, 0.0);
    EXPECT_DOUBLE_EQ(r[2].q, 1.0);
    EXPECT_TRUE(parse_accept("").empty());
}

TEST(names_media_type, only_an_explicit_range_with_quality_counts) {
    EXPECT_TRUE(names_media_type("text/event-stream", "text/event-stream"));
    EXPECT_TRUE(names_media_type("application/json, TEXT/EVENT-STREAM;q=0.2", "text/event-stream"));
    EXPECT_FALSE(names_media_type("*/*", "text/event-stream"));
    EXPECT_FALSE(names_media_type("text/*", "text/event-stream"));
    EXPECT_FALSE(names_media_type("text/event-stream;q=0", "text/event-stream"));
    EXPECT_FALSE(names_media_type("application/json", "text/event-stream"));
}
