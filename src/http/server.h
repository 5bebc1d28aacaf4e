#pragma once
// An HTTP/1.1 server on Boost.Beast with C++20 coroutines: one coroutine per connection (it owns
// the stream, the buffer and the deadlines), keep-alive, request limits, bearer-token auth,
// X-Correlation-Id, the JSON error envelope for every failure, and streamed (SSE) responses.
// The accept loop, every handler and every streamed body run on the io_context it is given (the
// control thread); connections may be served on other io threads (connection_executors).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/metrics.h"
#include "http/auth.h"
#include "http/http_error.h"
#include "http/router.h"
#include "http/tls.h"

namespace llorch::http {

struct server_options {
    std::string name = "llama-orch";  // logger name and Server header
    std::string address = "127.0.0.1";
    uint16_t port = 0;               // 0: any free port (see server::port())
    token_set tokens;                // empty: no auth (only allowed on loopback; see check_bind)
    token_set service_tokens;        // for service routes; empty: `tokens` apply there too
    size_t body_limit = 1 << 20;     // 413 beyond
    size_t header_limit = 16 << 10;  // 431-ish (answered 413) beyond
    // The request head (line and headers), from its first byte: a client that sends it slowly
    // is cut off after this (HAProxy's `timeout http-request`). Also bounds a TLS handshake.
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds read_timeout{30'000};  // the body, once the head is in
    std::chrono::milliseconds idle_timeout{75'000};  // waiting for the next keep-alive request
    // Connections served at once; beyond, new ones wait in the listen backlog until one ends.
    // 0: default_max_connections().
    size_t max_connections = 0;
    std::chrono::milliseconds write_timeout{30'000};  // one write; a reader stuck longer is cut
    std::chrono::milliseconds keepalive_interval{15'000};  // SSE comment when a stream is quiet
    tls_context tls;  // set: HTTPS only (see make_server_tls; a client CA there means mutual TLS)
    // More io threads for connections (io_threads::executors()). Connections are spread over
    // the server's own io_context and these, round-robin; handlers and streamed bodies always
    // run on the server's own io_context (the control thread). Empty: everything runs there.
    std::vector<asio::any_io_executor> connection_executors;
    // Streamed responses being written (SSE readers), and those cut off because one write took
    // longer than write_timeout (a slow reader). Updated from any io thread; null: not counted.
    common::gauge* streams_open = nullptr;
    common::counter* slow_readers_cut = nullptr;
};

class server {
  public:
    server(asio::io_context& io, server_options opts, router routes);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds and starts accepting. The error says what failed (e.g. address in use).
    http_result<void> start();
    // Stops accepting; open connections finish their current exchange.
    void stop();
    // After stop(): completes when every exchange under way has been written out (a stream's
    // last frame included), or after `bound`. Call on the control thread.
    asio::awaitable<void> wait_exchanges(std::chrono::milliseconds bound);
    uint16_t port() const;
    size_t active_connections() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// Half the process's descriptor limit (a relayed request may hold a second descriptor to its
// engine or node) less a reserve for engines, files and nodes; at least 16.
size_t default_max_connections();

// The start-up rule of the security model: a non-loopback bind needs a token. Returns the
// one-line reason to refuse, or an empty string when the bind is fine.
std::string check_bind(std::string_view address, const token_set& tokens,
                       std::string_view token_env);

}  // namespace llorch::http
