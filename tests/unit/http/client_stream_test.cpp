// http::client's streamed body against a scripted server on loopback: the idle limit of each
// read (what ends an engine stream that stalls), and a body read to its end.

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "http/client.h"

using namespace llorch::http;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

// Answers one request with a chunked body: each piece after its pause (an empty piece ends the
// body); then keeps the connection open, silent, until the client goes.
asio::awaitable<void> scripted_server(tcp::acceptor& acc,
                                      std::vector<std::pair<steady::duration, std::string>> plan) {
    auto sock = co_await acc.async_accept(asio::use_awaitable);
    asio::streambuf req;
    co_await asio::async_read_until(sock, req, "\r\n\r\n", asio::use_awaitable);
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    co_await asio::async_write(sock, asio::buffer(head), asio::use_awaitable);
    asio::steady_timer t(sock.get_executor());
    for (auto& [pause, piece] : plan) {
        t.expires_after(pause);
        co_await t.async_wait(asio::use_awaitable);
        if (piece.empty()) {
            co_await asio::async_write(sock, asio::buffer("0\r\n\r\n", 5), asio::use_awaitable);
            continue;
        }
        char size[32];
        int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        std::string chunk = std::string(size, static_cast<size_t>(n)) + piece + "\r\n";
        co_await asio::async_write(sock, asio::buffer(chunk), asio::use_awaitable);
    }
    char c;
    boost::system::error_code ec;
    co_await sock.async_read_some(asio::buffer(&c, 1),
                                  asio::redirect_error(asio::use_awaitable, ec));
}

struct read_log {
    std::vector<std::string> pieces;
    std::optional<client_error> error;
    std::vector<double> at_ms;  // when each read ended, from the first read's start
};

// Opens the stream and reads it with `limit(i)` as the i-th read's idle limit.
read_log read_all(std::vector<std::pair<steady::duration, std::string>> plan,
                  std::function<std::chrono::milliseconds(size_t)> limit) {
    asio::io_context io;
    tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acc.local_endpoint().port();
    asio::co_spawn(io, scripted_server(acc, std::move(plan)), asio::detached);
    read_log out;
    client c(io);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            client_request r;
            r.url = "http://127.0.0.1:" + std::to_string(port) + "/stream";
            auto s = co_await c.open(r);
            if (!s) {
                out.error = s.error();
                co_return;
            }
            const auto t0 = steady::now();
            for (size_t i = 0;; ++i) {
                auto piece = co_await (*s)->read_some(limit(i));
                out.at_ms.push_back(
                    std::chrono::duration<double, std::milli>(steady::now() - t0).count());
                if (!piece) {
                    out.error = piece.error();
                    break;
                }
                if (piece->empty()) break;
                out.pieces.push_back(*piece);
            }
            io.stop();  // a body read to its end leaves its connection pooled and open
        },
        asio::detached);
    io.run_for(20s);
    return out;
}

}  // namespace

TEST(client_stream, a_read_that_waits_past_its_idle_limit_ends_with_timeout) {
    auto log = read_all({{0ms, "a"}}, [](size_t) { return 300ms; });
    ASSERT_EQ(log.pieces.size(), 1u);
    EXPECT_EQ(log.pieces[0], "a");
    ASSERT_TRUE(log.error);
    EXPECT_EQ(log.error->code, client_errc::timeout) << log.error->message;
    EXPECT_TRUE(log.error->response_started);
    // The second read waited its 300 ms, not much less (the timer may fire late on a busy
    // machine, never early).
    ASSERT_EQ(log.at_ms.size(), 2u);
    EXPECT_GE(log.at_ms[1] - log.at_ms[0], 290.0);
}

TEST(client_stream, a_steady_stream_longer_than_the_limit_never_times_out) {
    // Ten pieces 100 ms apart: a second in all, with each read's limit 400 ms. A deadline counted
    // from the first read instead of each read's start would cut it.
    std::vector<std::pair<steady::duration, std::string>> plan;
    for (int i = 0; i < 10; ++i) plan.push_back({100ms, std::to_string(i)});
    auto log = read_all(plan, [](size_t) { return 400ms; });
    ASSERT_EQ(log.pieces.size(), 10u);
    EXPECT_EQ(log.pieces.front(), "0");
    EXPECT_EQ(log.pieces.back(), "9");
    ASSERT_TRUE(log.error);  // the server then stays silent
    EXPECT_EQ(log.error->code, client_errc::timeout);
}

TEST(client_stream, a_shorter_limit_after_a_long_one_is_kept) {
    // The first read may wait 30 s and the timer is armed for that; the second may wait 200 ms
    // only and must end after about that, not 30 s.
    auto log = read_all({{0ms, "a"}}, [](size_t i) { return i == 0 ? 30'000ms : 200ms; });
    ASSERT_EQ(log.pieces.size(), 1u);
    ASSERT_TRUE(log.error);
    EXPECT_EQ(log.error->code, client_errc::timeout);
    ASSERT_EQ(log.at_ms.size(), 2u);
    EXPECT_GE(log.at_ms[1] - log.at_ms[0], 190.0);
    EXPECT_LT(log.at_ms[1] - log.at_ms[0], 10'000.0);
}

TEST(client_stream, a_body_read_to_its_end_ends_without_error) {
    auto log = read_all({{0ms, "one"}, {50ms, "two"}, {0ms, ""}}, [](size_t) { return 1'000ms; });
    ASSERT_EQ(log.pieces.size(), 2u);
    EXPECT_EQ(log.pieces[1], "two");
    EXPECT_FALSE(log.error) << log.error->message;
}
