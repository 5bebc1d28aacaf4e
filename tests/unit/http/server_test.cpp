// The HTTP server's protocol details and limits, through raw sockets: HEAD, Expect:
// 100-continue, absolute-form targets, HTTP/1.0 streams, the head deadline, the connection limit.
#include <gtest/gtest.h>

#include <atomic>

#include "server_test_support.h"
#include "support/test_support.h"

namespace llorch::http::test {
namespace {
using llorch::test::wait_until;

// A stream of fixed pieces.
class pieces final : public body_stream {
  public:
    explicit pieces(std::vector<std::string> p) : p_(std::move(p)) {}
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        if (i_ == p_.size()) co_return std::nullopt;
        co_return p_[i_++];
    }

  private:
    std::vector<std::string> p_;
    size_t i_ = 0;
};

struct seen {
    std::string path, query, method;
};

router test_routes(seen& last) {
    router r;
    r.add("GET", "/thing", [&last](request q) -> asio::awaitable<response> {
        last = {q.path, q.query, q.method};
        co_return response::text(200, "hello");
    });
    r.add("POST", "/echo", [](request q) -> asio::awaitable<response> {
        co_return response::text(200, "got " + q.body);
    });
    r.add("GET", "/stream", [](request) -> asio::awaitable<response> {
        response res;
        res.content_type = "text/event-stream";
        res.stream =
            std::make_shared<pieces>(std::vector<std::string>{"data: a\n\n", "data: b\n\n"});
        co_return res;
    });
    return r;
}

TEST(server, head_answers_the_get_route_with_its_headers_and_no_body) {
    seen last;
    running_server s(test_routes(last));
    raw_client c(s.port());
    c.send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("\r\n\r\n")) << c.received();
    EXPECT_NE(c.received().find("HTTP/1.1 200"), std::string::npos) << c.received();
    EXPECT_NE(c.received().find("Content-Length: 5"), std::string::npos) << c.received();
    EXPECT_EQ(last.method, "HEAD");
    // No body followed: the next answer on the connection starts right after the head.
    auto head_end = c.received().size();
    c.send("GET /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("hello")) << c.received();
    EXPECT_EQ(c.received().compare(head_end, 8, "HTTP/1.1"), 0) << c.received();
}

TEST(server, expect_100_continue_is_answered_before_the_body_is_sent) {
    seen last;
    running_server s(test_routes(last));
    raw_client c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    ASSERT_TRUE(c.read_until("HTTP/1.1 100 Continue\r\n\r\n", 3s))
        << "the client would wait for nothing: " << c.received();
    c.send("body");
    ASSERT_TRUE(c.read_until("got body")) << c.received();
}

TEST(server, a_target_in_absolute_form_reaches_the_route_of_its_path) {
    seen last;
    running_server s(test_routes(last));
    raw_client c(s.port());
    c.send("GET http://127.0.0.1:" + std::to_string(s.port()) +
           "/thing?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("hello")) << c.received();
    EXPECT_EQ(last.path, "/thing");
    EXPECT_EQ(last.query, "x=1");
}

TEST(server, an_http_1_0_client_gets_a_stream_unchunked_ended_by_the_close) {
    seen last;
    running_server s(test_routes(last));
    raw_client c(s.port());
    c.send("GET /stream HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(c.read_to_close()) << c.received();
    const auto& r = c.received();
    EXPECT_EQ(r.find("chunked"), std::string::npos) << r;
    auto body = r.substr(r.find("\r\n\r\n") + 4);
    EXPECT_EQ(body, "data: a\n\ndata: b\n\n");
}

TEST(server, an_http_1_1_stream_is_chunked_and_keeps_the_connection) {
    seen last;
    running_server s(test_routes(last));
    raw_client c(s.port());
    c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("0\r\n\r\n")) << c.received();
    EXPECT_NE(c.received().find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_NE(c.received().find("9\r\ndata: a\n\n\r\n"), std::string::npos) << c.received();
    c.send("GET /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.read_until("hello")) << c.received();
}

TEST(server, a_request_head_sent_too_slowly_is_cut_off_at_the_head_deadline) {
    seen last;
    server_options o;
    o.header_timeout = 300ms;
    running_server s(test_routes(last), o);
    raw_client c(s.port());
    auto t0 = steady::now();
    c.send("GET /thing HTTP/1.1\r\n");  // and never the rest
    ASSERT_TRUE(c.read_to_close(10s)) << "still open after 10 s";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
    EXPECT_GE(ms, 250);
    EXPECT_LT(ms, 5000) << "the head deadline is 300 ms";
}

TEST(server, connections_beyond_the_limit_wait_until_one_ends) {
    seen last;
    server_options o;
    o.max_connections = 2;
    running_server s(test_routes(last), o);
    raw_client a(s.port()), b(s.port());
    a.send("GET /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    b.send("GET /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(a.read_until("hello"));
    ASSERT_TRUE(b.read_until("hello"));
    raw_client third(s.port());  // connects: the kernel's backlog holds it
    third.send("GET /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_FALSE(third.read_until("hello", 500ms)) << "served beyond the limit of 2";
    a.reset();
    EXPECT_TRUE(third.read_until("hello", 5s)) << "not served after a connection ended";
}

// An endless stream of 64 KiB pieces.
class flood final : public body_stream {
  public:
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        co_return std::string(64 << 10, 'x');
    }
};

TEST(server, a_reader_too_slow_for_the_write_timeout_is_cut_off_and_counted) {
    common::metrics_registry m;
    router r;
    r.add("GET", "/flood", [](request) -> asio::awaitable<response> {
        response res;
        res.content_type = "text/event-stream";
        res.stream = std::make_shared<flood>();
        co_return res;
    });
    server_options o;
    o.write_timeout = 200ms;
    o.streams_open = &m.gauge("streams_open", "h");
    o.slow_readers_cut = &m.counter("slow_readers_cut_total", "h");
    running_server s(std::move(r), o);
    raw_client c(s.port());
    c.send("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");  // and never reads
    ASSERT_TRUE(wait_until([&] { return o.streams_open->Value() == 1; }, 5s));
    EXPECT_TRUE(wait_until([&] { return o.slow_readers_cut->Value() == 1; }, 30s))
        << "the stuck reader was not cut off";
    EXPECT_TRUE(wait_until([&] { return o.streams_open->Value() == 0; }, 5s));
}

}  // namespace
}  // namespace llorch::http::test
