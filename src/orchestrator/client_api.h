#pragma once
// orchestratord's route table: the task API (POST /v2/tasks, events, cancel, status), sessions,
// meta, health and metrics, and, in the HOME profile, the local pools.

#include <string>

#include "http/router.h"
#include "orchestrator/task_service.h"

namespace llorch::orchestrator {

struct client_api_options {
    std::string profile = "home";
    pool::pool_manager* local_pools = nullptr;  // HOME profile
};

void add_client_routes(http::router& routes, task_service& tasks, client_api_options opts);

}  // namespace llorch::orchestrator
