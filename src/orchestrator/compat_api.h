#pragma once
// OpenAI- and Ollama-compatible handlers over the same task machinery as /v2/tasks. Generation
// (POST /v1/chat/completions, /v1/completions, /v1/responses, /api/generate, /api/chat) is a
// task — queued, placed, cancelled when the client goes away — streamed or not; only the wire
// format differs (compat_request.h translates the request, compat_stream.h and
// compat_responses.h format the answer). The model endpoints read the placement index, and the
// catalog for a model's size, digest and details. Ollama's pull of a URL, hf: or file: reference
// stages it into the catalog; the rest of its model management (a registry pull, push, copy,
// delete, create) is answered with an error that says what llama-orch does instead.
// Errors are in the endpoint's dialect (compat_errors.h).
// Owner: the route table (shared by its handlers). Thread: the control plane's io thread.

#include <memory>

#include "http/message.h"
#include "orchestrator/task_service.h"
#include "placement/placement_index.h"
#include "pool/catalog_admin.h"
#include "pool/pool_admin.h"

namespace llorch::orchestrator {

class compat_api {
  public:
    compat_api(task_service& tasks, const placement::placement_index& index)
        : tasks_(tasks), index_(index) {}

    // OpenAI (compat_api.cpp)
    asio::awaitable<http::response> chat_completions(http::request q);
    asio::awaitable<http::response> completions(http::request q);
    asio::awaitable<http::response> responses(http::request q);  // compat_responses.h
    asio::awaitable<http::response> models(http::request q);
    asio::awaitable<http::response> model(http::request q);  // GET /v1/models/{id}
    // Embeddings (compat_embeddings.cpp): POST /v1/embeddings, /api/embed, /api/embeddings.
    asio::awaitable<http::response> embeddings(http::request q);
    asio::awaitable<http::response> embed(http::request q);
    asio::awaitable<http::response> embeddings_legacy(http::request q);
    // Ollama (compat_api.cpp: generation; compat_ollama.cpp: the rest)
    asio::awaitable<http::response> generate(http::request q);
    asio::awaitable<http::response> chat(http::request q);
    asio::awaitable<http::response> tags(http::request q);
    asio::awaitable<http::response> root(http::request q);  // GET and HEAD /
    asio::awaitable<http::response> version(http::request q);
    asio::awaitable<http::response> show(http::request q);
    asio::awaitable<http::response> ps(http::request q);
    asio::awaitable<http::response> model_management(http::request q);  // push, copy, ...
    // POST /api/pull of a model reference: a staging job, streamed as Ollama's progress lines.
    asio::awaitable<http::response> pull(http::request q);

    // The model files /api/tags describes and /api/pull stages into (may stay unset).
    void set_catalog(std::shared_ptr<pool::catalog_admin> files) { files_ = std::move(files); }
    // The pools /api/ps lists the loaded ones of (may stay unset: then every model, never
    // expiring).
    void set_pools(std::shared_ptr<pool::pool_admin> pools) { pools_ = std::move(pools); }

  private:
    // The model names the pools answer to, each once, sorted.
    std::vector<std::string> model_names() const;

    task_service& tasks_;
    const placement::placement_index& index_;
    std::shared_ptr<pool::catalog_admin> files_;
    std::shared_ptr<pool::pool_admin> pools_;
};

}  // namespace llorch::orchestrator
