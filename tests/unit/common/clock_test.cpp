// The manual clock: waits fall due only when the test advances time; a cancelled wait says so.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace llorch::common {
namespace {
using namespace std::chrono_literals;

struct wait_result {
    bool done = false;
    bool due = false;
};

std::shared_ptr<wait_result> start_wait(boost::asio::io_context& io, clock& c,
                                        boost::asio::steady_timer& t, clock::duration d) {
    auto r = std::make_shared<wait_result>();
    boost::asio::co_spawn(io, c.wait_for(t, d), [r](std::exception_ptr e, bool due) {
        if (e) std::rethrow_exception(e);
        r->done = true;
        r->due = due;
    });
    return r;
}

void poll(boost::asio::io_context& io) {
    io.restart();
    io.poll();
}

// A manual clock, the io_context its waits resume on, and one timer to wait with.
class manual_clock_test : public ::testing::Test {
  protected:
    manual_clock c;
    boost::asio::io_context io;
    boost::asio::steady_timer t{io};

    std::shared_ptr<wait_result> wait(clock::duration d) {
        auto r = start_wait(io, c, t, d);
        poll(io);
        return r;
    }
};

TEST_F(manual_clock_test, a_wait_falls_due_only_when_time_is_advanced_past_it) {
    auto start = c.now();
    auto r = wait(10s);
    EXPECT_EQ(c.waiting(), 1u);
    EXPECT_EQ(c.next_due(), start + 10s);
    c.advance(9s);
    poll(io);
    EXPECT_FALSE(r->done);
    c.advance(1s);
    poll(io);
    EXPECT_TRUE(r->done && r->due);
    EXPECT_EQ(c.waiting(), 0u);
}

TEST_F(manual_clock_test, a_cancelled_wait_ends_early_and_says_so) {
    auto r = wait(10s);
    t.cancel();
    poll(io);
    EXPECT_TRUE(r->done);
    EXPECT_FALSE(r->due);
    EXPECT_EQ(c.waiting(), 0u);
}

TEST_F(manual_clock_test, a_wait_for_a_time_already_past_returns_at_once) {
    auto r = wait(0s);
    EXPECT_TRUE(r->done && r->due);
}

TEST(real_clock, a_short_wait_falls_due) {
    boost::asio::io_context io;
    boost::asio::steady_timer t(io);
    auto r = start_wait(io, real_clock::instance(), t, 1ms);
    io.run_for(5s);
    EXPECT_TRUE(r->done);
    EXPECT_TRUE(r->due);
}

}  // namespace
}  // namespace llorch::common
