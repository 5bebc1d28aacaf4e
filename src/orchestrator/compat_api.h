#pragma once
// OpenAI- and Ollama-compatible endpoints over the same task machinery as /v2/tasks:
// POST /v1/chat/completions, POST /v1/completions, GET /v1/models, POST /api/generate,
// POST /api/chat, GET /api/tags — streamed and not. Each request is a task (queued, placed,
// cancelled when the client goes away); only the wire format differs.

#include "http/router.h"
#include "orchestrator/task_service.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

void add_compat_routes(http::router& routes, task_service& tasks,
                       const placement::placement_index& index);

}  // namespace llorch::orchestrator
