#pragma once
// OpenAI- and Ollama-compatible handlers over the same task machinery as /v2/tasks:
// POST /v1/chat/completions, POST /v1/completions, GET /v1/models, POST /api/generate,
// POST /api/chat, GET /api/tags — streamed and not. Each request is a task (queued, placed,
// cancelled when the client goes away); only the wire format differs.
// Owner: the route table (shared by its handlers). Thread: the control plane's io thread.

#include "http/message.h"
#include "orchestrator/task_service.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

class compat_api {
  public:
    compat_api(task_service& tasks, const placement::placement_index& index)
        : tasks_(tasks), index_(index) {}

    asio::awaitable<http::response> chat_completions(http::request q);  // OpenAI
    asio::awaitable<http::response> completions(http::request q);       // OpenAI
    asio::awaitable<http::response> models(http::request q);            // OpenAI
    asio::awaitable<http::response> generate(http::request q);          // Ollama
    asio::awaitable<http::response> chat(http::request q);              // Ollama
    asio::awaitable<http::response> tags(http::request q);              // Ollama

  private:
    task_service& tasks_;
    const placement::placement_index& index_;
};

}  // namespace llorch::orchestrator
