#include "common/task_group.h"

#include <chrono>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using llorch::common::task_group;
using namespace std::chrono_literals;

namespace {

// Waits on a timer an hour long, in a loop that ends only when a wait is cancelled.
asio::awaitable<void> wait_forever(int& ended) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
        t.expires_after(1h);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
    }
    ++ended;
}

asio::awaitable<void> sleep_then_count(std::chrono::milliseconds d, int& ended) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
    ++ended;
}

// Runs group.stop() on `io` for up to `d`; whether it completed.
bool stops_within(asio::io_context& io, task_group& group, std::chrono::milliseconds d) {
    bool stopped = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await group.stop();
            stopped = true;
        },
        asio::detached);
    io.run_for(d);
    return stopped;
}

}  // namespace

TEST(task_group, stop_cancels_every_waiting_task_and_completes_when_all_ended) {
    asio::io_context io;
    task_group group(io.get_executor());
    int ended = 0;
    group.spawn(wait_forever(ended), "a");
    group.spawn(wait_forever(ended), "b");
    io.run_for(20ms);
    EXPECT_EQ(group.size(), 2u);
    EXPECT_TRUE(stops_within(io, group, 2s));
    EXPECT_EQ(ended, 2);
    EXPECT_EQ(group.size(), 0u);
}

TEST(task_group, finished_tasks_leave_the_group) {
    asio::io_context io;
    task_group group(io.get_executor());
    int ended = 0;
    group.spawn(sleep_then_count(1ms, ended), "short");
    group.spawn(wait_forever(ended), "long");
    io.run_for(200ms);
    EXPECT_EQ(ended, 1);
    EXPECT_EQ(group.size(), 1u);
    asio::co_spawn(io, group.stop(), asio::detached);
    io.run_for(2s);
    EXPECT_EQ(group.size(), 0u);
}

TEST(task_group, a_task_that_throws_when_cancelled_still_leaves_the_group) {
    asio::io_context io;
    task_group group(io.get_executor());
    int ended = 0;
    // use_awaitable without redirect_error: the cancelled wait throws operation_aborted.
    group.spawn(sleep_then_count(1h, ended), "throws");
    io.run_for(10ms);
    EXPECT_TRUE(stops_within(io, group, 2s));
    EXPECT_EQ(ended, 0);
}

TEST(task_group, a_task_spawned_after_stop_began_is_not_started) {
    asio::io_context io;
    task_group group(io.get_executor());
    int ended = 0;
    asio::co_spawn(io, group.stop(), asio::detached);
    io.run_for(10ms);
    group.spawn(sleep_then_count(1ms, ended), "late");
    EXPECT_EQ(group.size(), 0u);
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(ended, 0);
}

TEST(task_group, stop_of_an_empty_group_completes_at_once) {
    asio::io_context io;
    task_group group(io.get_executor());
    EXPECT_TRUE(stops_within(io, group, 1s));
}
