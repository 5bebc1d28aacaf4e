#pragma once
// An HTTP/1.1 client for talking to engines and to other llama-orch daemons: keep-alive
// connections pooled per host, a timeout on every step, streamed bodies read as they arrive, and
// one retry on a fresh connection when a reused one fails before any response byte (a server
// may close an idle keep-alive connection just as it is reused). Single-threaded: use it on the
// io_context it was made with.

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include "http/http_error.h"
#include "http/message.h"
#include "http/tls.h"

namespace llorch::http {

struct url_parts {
    std::string scheme;  // "http" or "https"
    std::string host;
    uint16_t port = 80;
    std::string target;  // path and query, "/" at least
};
http_result<url_parts> parse_url(std::string_view url);

enum class client_errc {
    bad_url,
    connect_failed,  // refused, unreachable, no route: the peer is not there
    timeout,
    reset,     // the connection broke after the request was sent
    protocol,  // not HTTP, or a body over the limit
    cancelled,
};
std::string_view to_string(client_errc c);

struct client_error {
    client_errc code;
    std::string message;
    bool response_started = false;  // some response byte had arrived
};

template <class T>
using client_result = boost::system::result<T, client_error>;

// Lets `result.value()` work with client_error (found by argument-dependent lookup); code in this
// module tests results instead of calling value().
[[noreturn]] inline void throw_exception_from_error(const client_error& e,
                                                    const boost::source_location&) {
    throw std::runtime_error(e.message);
}

struct client_request {
    std::string method = "GET";
    std::string url;
    header_list headers;
    std::string body;
    std::string content_type = "application/json";
    std::chrono::milliseconds timeout{
        30'000};  // connect + send + response head (+ body for send())
};

struct client_response {
    int status = 0;
    header_list headers;
    std::string body;
};

struct client_options {
    std::chrono::milliseconds connect_timeout{3'000};
    size_t max_idle_per_host = 256;
    size_t body_limit = 64u << 20;
    std::string user_agent = "llama-orch";
    tls_context tls;  // for https:// URLs (make_client_tls); a client certificate there is mTLS
};

class client;

// A response whose body is read piece by piece. Destroying it before the end closes the
// connection (the peer sees the client go away); reading to the end returns it to the pool.
class response_stream {
  public:
    ~response_stream();
    int status() const;
    const header_list& headers() const;
    // The next piece of the body as it arrives; an empty string at the end of the body.
    asio::awaitable<client_result<std::string>> read_some(std::chrono::milliseconds idle_timeout);
    // Closes the connection at once; a pending read_some completes with `cancelled`.
    void abort();
    // Reads what is left of the body in a coroutine of its own on the stream's executor (each
    // read within `timeout`, at most `limit` bytes), so that the connection goes back to the
    // pool instead of being closed. For a generation that ended: the rest of the body is
    // usually just the last chunk, already on its way.
    static void finish_in_background(std::unique_ptr<response_stream> s,
                                     std::chrono::milliseconds timeout, size_t limit = 64 * 1024);

    struct impl;
    explicit response_stream(std::unique_ptr<impl> p);

  private:
    std::unique_ptr<impl> impl_;
};

class client {
  public:
    explicit client(asio::io_context& io, client_options opts = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // A whole request and response.
    asio::awaitable<client_result<client_response>> send(client_request r);
    // Returns once the status line and headers arrived; read the body from the stream.
    asio::awaitable<client_result<std::unique_ptr<response_stream>>> open(client_request r);

    size_t idle_connections() const;
    // Forget pooled connections to a host (e.g. a node marked offline).
    void drop_idle(std::string_view host, uint16_t port);

    struct pool;

  private:
    asio::io_context& io_;
    client_options opts_;
    std::shared_ptr<pool> pool_;
};

}  // namespace llorch::http
