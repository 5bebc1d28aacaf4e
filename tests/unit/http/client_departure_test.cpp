// The server tells a handler when its client leaves before the answer is out (queued, running
// or streaming), and tells nobody when the client stays — pipelined requests included.
#include <gtest/gtest.h>

#include <atomic>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server_test_support.h"
#include "support/test_support.h"

namespace llorch::http::test {
namespace {
using llorch::test::wait_until;

// POST /slow answers after `delay` unless its client leaves first; counts departures.
struct slow_handler_state {
    std::atomic<int> started{0};
    std::atomic<int> departures{0};
    std::atomic<int> answered{0};
    std::chrono::milliseconds delay{5'000};
};

router slow_routes(slow_handler_state& st) {
    router r;
    r.add("POST", "/slow", [&st](request q) -> asio::awaitable<response> {
        ++st.started;
        auto ex = co_await asio::this_coro::executor;
        auto timer = std::make_shared<asio::steady_timer>(ex, st.delay);
        q.departure->on_departure([&st, timer] {
            ++st.departures;
            timer->cancel();
        });
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        ++st.answered;
        co_return response::json(200, R"({"ok":true})");
    });
    r.add("GET", "/fast", [](request) -> asio::awaitable<response> {
        co_return response::json(200, R"({"fast":true})");
    });
    return r;
}

const std::string slow_request = "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";

TEST(client_departure, a_client_that_resets_while_its_request_runs_is_noticed_at_once) {
    slow_handler_state st;
    running_server s(slow_routes(st));
    raw_client c(s.port());
    c.send(slow_request);
    ASSERT_TRUE(wait_until([&] { return st.started == 1; }, 5s));
    auto gone = steady::now();
    c.reset();
    ASSERT_TRUE(wait_until([&] { return st.departures == 1; }, 3s))
        << "the handler never heard that its client left";
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - gone).count(),
              3000);
}

TEST(client_departure, a_client_that_stays_gets_its_answer_and_no_departure) {
    slow_handler_state st;
    st.delay = 300ms;
    running_server s(slow_routes(st));
    raw_client c(s.port());
    c.send(slow_request);
    ASSERT_TRUE(c.read_until("{\"ok\":true}", 10s)) << c.received();
    EXPECT_EQ(st.departures, 0);
    // The connection still serves the next request.
    c.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("{\"fast\":true}", 10s)) << c.received();
}

TEST(client_departure, a_request_pipelined_behind_a_slow_one_is_answered_in_order) {
    slow_handler_state st;
    st.delay = 300ms;
    running_server s(slow_routes(st));
    raw_client c(s.port());
    // Both requests in one write: the second arrives while the first one's handler runs, and
    // must be kept for the session, not taken for a departure.
    c.send(slow_request + "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n" + slow_request);
    ASSERT_TRUE(c.read_until_count("HTTP/1.1 200", 3, 10s)) << c.received();
    const auto& r = c.received();
    auto first = r.find("{\"ok\":true}");
    auto second = r.find("{\"fast\":true}");
    auto third = r.find("{\"ok\":true}", first + 1);
    ASSERT_NE(second, std::string::npos) << r;
    ASSERT_NE(third, std::string::npos) << r;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_EQ(st.departures, 0);
}

// A stream that stays quiet: the client leaves before its first byte.
class quiet_stream final : public body_stream {
  public:
    explicit quiet_stream(std::atomic<int>& disconnects) : disconnects_(disconnects) {}
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds wait) override {
        if (gone_) co_return std::nullopt;
        asio::steady_timer t(co_await asio::this_coro::executor, wait);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return gone_ ? std::nullopt : std::optional<std::string>(std::string());
    }
    void on_disconnect() override {
        gone_ = true;
        ++disconnects_;
    }

  private:
    std::atomic<int>& disconnects_;
    bool gone_ = false;
};

TEST(client_departure, a_stream_whose_client_leaves_before_its_first_byte_is_told) {
    std::atomic<int> disconnects{0};
    std::atomic<int> departures{0};
    router r;
    r.add("GET", "/quiet", [&](request q) -> asio::awaitable<response> {
        q.departure->on_departure([&] { ++departures; });
        response res;
        res.content_type = "text/event-stream";
        res.stream = std::make_shared<quiet_stream>(disconnects);
        co_return res;
    });
    server_options o;
    o.keepalive_interval = 10s;  // nothing at all goes out for 10 s
    running_server s(std::move(r), o);
    raw_client c(s.port());
    c.send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("\r\n\r\n", 5s)) << "the head goes out after a moment";
    c.reset();
    EXPECT_TRUE(wait_until([&] { return disconnects == 1 && departures == 1; }, 3s))
        << "disconnects " << disconnects << ", departures " << departures;
}

}  // namespace
}  // namespace llorch::http::test
