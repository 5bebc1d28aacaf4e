#pragma once
// pool-managerd as one object: built from its config, start() loads the pool table, binds the
// server, starts the pools and, in the CLOUD profile, the node agent that registers and beats;
// stop() closes the server, drains and stops the pools, then deregisters.
//
// Owner: main(), or a test. Thread: the io_context it owns, run by run() on the calling thread;
// every part lives on that thread. Lifecycle: construct → run() (start, serve until SIGINT or
// SIGTERM, stop) — or start() → … → co_await stop() when driven by the caller.

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/metrics.h"
#include "pool_managerd_config.h"
#include "startup_error.h"

namespace llorch::http {
class server;
class io_threads;
}  // namespace llorch::http

namespace llorch::pool {
class catalog_service;
}

namespace llorch::daemon {

class pool_managerd_app {
  public:
    explicit pool_managerd_app(pool_managerd_config cfg);
    ~pool_managerd_app();
    pool_managerd_app(const pool_managerd_app&) = delete;
    pool_managerd_app& operator=(const pool_managerd_app&) = delete;

    // Starts, serves until a signal, stops; the process's exit code (2: a start-up error, with
    // one line on stderr naming the key to fix).
    int run();

    // Builds and starts every part; the error names the key at fault.
    startup_result<void> start();
    // The server stops taking requests, in-flight work may finish for the drain deadline, the
    // engines stop, the node deregisters.
    boost::asio::awaitable<void> stop();

    uint16_t port() const;
    boost::asio::io_context& io() { return io_; }

  private:
    pool_managerd_config cfg_;
    boost::asio::io_context io_{1};
    common::metrics_registry metrics_;  // before the parts that report into it
    std::unique_ptr<pool::pool_manager> manager_;
    std::shared_ptr<pool::catalog_service> catalog_;
    std::unique_ptr<http::server> server_;
    std::unique_ptr<pool::node_agent> agent_;
    bool started_ = false;
    // Last: its threads end (and the sessions they hold go) before anything they call into.
    std::unique_ptr<http::io_threads> threads_;
};

}  // namespace llorch::daemon
