#pragma once
// orchestratord's client handlers: the task API (POST /v2/tasks, events, cancel, status),
// sessions, meta, health, readiness and metrics. orchestratord_routes maps routes to them.
// Owner: the route table (shared by its handlers). Thread: the control plane's io thread.

#include <string>

#include "common/metrics.h"
#include "http/message.h"
#include "orchestrator/task_service.h"

namespace llorch::orchestrator {

struct client_api_options {
    std::string profile = "home";
    pool::pool_manager* local_pools = nullptr;          // HOME profile
    const common::metrics_registry* metrics = nullptr;  // the daemon's, served at /metrics
};

class client_api {
  public:
    client_api(task_service& tasks, client_api_options opts)
        : tasks_(tasks), opts_(std::move(opts)) {}

    asio::awaitable<http::response> submit(http::request q);
    asio::awaitable<http::response> events(http::request q);
    asio::awaitable<http::response> task_status(http::request q);
    asio::awaitable<http::response> cancel(http::request q);
    // POST /v2/models/{name}/load and /unload: an on-demand model (docs/models.md).
    asio::awaitable<http::response> load_model(http::request q);
    asio::awaitable<http::response> unload_model(http::request q);
    asio::awaitable<http::response> session(http::request q);
    asio::awaitable<http::response> drop_session(http::request q);
    asio::awaitable<http::response> version(http::request q);
    asio::awaitable<http::response> capabilities(http::request q);
    asio::awaitable<http::response> health(http::request q);
    asio::awaitable<http::response> ready(http::request q);
    asio::awaitable<http::response> metrics(http::request q);

  private:
    task_service& tasks_;
    client_api_options opts_;
};

}  // namespace llorch::orchestrator
