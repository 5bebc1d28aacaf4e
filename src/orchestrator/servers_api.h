#pragma once
// GET /v2/servers: every upstream (pool) with its health from probes, latency moving averages,
// error rate, load and utilization, and per node the aggregate (servers_service.h). In the HOME
// profile each local pool also shows its endpoints and, for Ollama and OpenAI-compatible servers,
// the models the server itself lists (refreshed by every probe).
// Owner: the route table. Thread: the control plane's io thread.

#include <boost/asio/awaitable.hpp>

#include "http/message.h"
#include "orchestrator/servers_service.h"
#include "pool/pool_manager.h"

namespace llorch::orchestrator {

class servers_api {
  public:
    servers_api(servers_service& servers, pool::pool_manager* local_pools, std::string profile)
        : servers_(servers), local_(local_pools), profile_(std::move(profile)) {}

    boost::asio::awaitable<http::response> list(http::request q);

  private:
    servers_service& servers_;
    pool::pool_manager* local_;
    std::string profile_;
};

}  // namespace llorch::orchestrator
