#include "http/io_threads.h"

#include <gtest/gtest.h>

using namespace llorch::http;

TEST(default_io_threads, one_per_core_but_only_the_control_thread_on_two_cores_or_fewer) {
    EXPECT_EQ(default_io_threads(0u), 1u);  // the core count unknown
    EXPECT_EQ(default_io_threads(1u), 1u);
    EXPECT_EQ(default_io_threads(2u), 1u);
    EXPECT_EQ(default_io_threads(3u), 3u);
    EXPECT_EQ(default_io_threads(16u), 16u);
}

TEST(io_threads, runs_the_extra_contexts_and_joins_them_on_stop) {
    io_threads t(3);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.executors().size(), 2u);
    t.start();
    t.stop();
    io_threads none(1);
    EXPECT_TRUE(none.executors().empty());
}
