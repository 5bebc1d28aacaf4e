#pragma once
// orchestratord's job handlers: POST /v2/jobs, GET /v2/jobs/{id}, GET /v2/jobs/{id}/events,
// POST /v2/jobs/{id}/cancel (docs/jobs.md). orchestratord_routes maps routes to them.
// Owner: the route table. Thread: the control plane's io thread.

#include "http/message.h"
#include "orchestrator/job_service.h"
#include "orchestrator/task_service.h"

namespace llorch::orchestrator {

class job_api {
  public:
    job_api(job_service& jobs, task_service& tasks) : jobs_(jobs), tasks_(tasks) {}

    asio::awaitable<http::response> submit(http::request q);
    asio::awaitable<http::response> status(http::request q);
    asio::awaitable<http::response> events(http::request q);
    asio::awaitable<http::response> cancel(http::request q);

  private:
    job_service& jobs_;
    task_service& tasks_;
};

}  // namespace llorch::orchestrator
