#pragma once
// orchestratord as one object: built from its config, start() wires and starts every part in
// order (the local pools or the node registry, the task service, the HTTP server, the stale-node
// check); stop() awaits the background tasks it started, drains the task service, closes the
// server, then stops the local pools (so no request reaches a pool that is stopping).
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
#include "common/task_group.h"
#include "orchestratord_config.h"
#include "startup_error.h"

namespace llorch::http {
class server;
class io_threads;
}  // namespace llorch::http
namespace llorch::placement {
class placement_index;
}
namespace llorch::pool {
class catalog_service;
}
namespace llorch::registry {
class node_registry;
}
namespace llorch::orchestrator {
class task_service;
class job_service;
class local_backend;
class cloud_backend;
class cluster_monitor;
class servers_service;
}  // namespace llorch::orchestrator

namespace llorch::daemon {

class orchestratord_app {
  public:
    explicit orchestratord_app(orchestratord_config cfg);
    ~orchestratord_app();
    orchestratord_app(const orchestratord_app&) = delete;
    orchestratord_app& operator=(const orchestratord_app&) = delete;

    // Starts, serves until a signal, stops; the process's exit code (2: a start-up error, with
    // one line on stderr naming the key to fix).
    int run();

    // Builds and starts every part; the error names the key at fault. Nothing keeps running
    // after a failure.
    startup_result<void> start();
    // No new tasks; running streams may finish for the drain deadline; then everything stops.
    boost::asio::awaitable<void> stop();

    uint16_t port() const;
    boost::asio::io_context& io() { return io_; }

  private:
    startup_result<void> start_home();
    startup_result<void> start_cloud();
    boost::asio::awaitable<void> stale_check_loop();

    orchestratord_config cfg_;
    boost::asio::io_context io_{1};
    common::metrics_registry metrics_;  // before the parts that report into it
    std::unique_ptr<placement::placement_index> index_;
    // HOME: the pools run in this process.
    std::unique_ptr<pool::pool_manager> manager_;
    std::shared_ptr<pool::catalog_service> catalog_;  // HOME profile
    std::unique_ptr<orchestrator::local_backend> local_;
    // CLOUD: nodes register; tasks go to them over HTTP.
    std::unique_ptr<registry::node_registry> registry_;
    std::unique_ptr<orchestrator::cloud_backend> remote_;
    std::unique_ptr<orchestrator::task_service> tasks_;
    std::unique_ptr<orchestrator::cluster_monitor> events_;   // GET /v2/events
    std::unique_ptr<orchestrator::servers_service> servers_;  // GET /v2/servers
    std::unique_ptr<orchestrator::job_service> jobs_;
    std::unique_ptr<http::server> server_;
    common::task_group background_{io_.get_executor()};
    bool started_ = false;
    // Last: its threads end (and the sessions they hold go) before anything they call into.
    std::unique_ptr<http::io_threads> threads_;
};

}  // namespace llorch::daemon
