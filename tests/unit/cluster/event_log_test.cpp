#include "cluster/event_log.h"

#include <gtest/gtest.h>

namespace llorch::cluster {
namespace {

TEST(event_log, a_reader_gets_every_frame_after_its_cursor_once) {
    event_log log;
    log.append("a");
    uint64_t cursor = log.next_seq();
    log.append("b");
    log.append("c");
    auto r = log.read(cursor);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "bc");
    auto again = log.read(cursor);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, "");
}

TEST(event_log, reads_in_pieces_of_about_max_bytes) {
    event_log log;
    uint64_t cursor = log.next_seq();
    for (int i = 0; i < 10; ++i) log.append("0123456789");
    auto r = log.read(cursor, 25);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 30u);  // whole frames, the last one crossing the bound
    auto rest = log.read(cursor, 1000);
    ASSERT_TRUE(rest);
    EXPECT_EQ(rest->size(), 70u);
}

TEST(event_log, stays_within_its_count_and_byte_bounds) {
    event_log log({.max_events = 5, .max_bytes = 1000});
    for (int i = 0; i < 100; ++i) log.append("frame");
    EXPECT_EQ(log.size(), 5u);
    EXPECT_EQ(log.first_seq(), 96u);
    event_log small({.max_events = 100, .max_bytes = 12});
    for (int i = 0; i < 10; ++i) small.append("12345");
    EXPECT_LE(small.bytes(), 12u);
    EXPECT_EQ(small.size(), 2u);
}

TEST(event_log, a_reader_that_fell_out_of_the_log_is_told_so) {
    event_log log({.max_events = 3, .max_bytes = 1000});
    uint64_t slow = log.next_seq();
    for (int i = 0; i < 5; ++i) log.append("x");
    auto r = log.read(slow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, cluster_errc::reader_behind);
    EXPECT_NE(r.error().message.find("2 events"), std::string::npos) << r.error().message;
    uint64_t fresh = log.next_seq();
    log.append("y");
    EXPECT_EQ(log.read(fresh).value(), "y");
}

}  // namespace
}  // namespace llorch::cluster
