#pragma once
// Errors in the dialect of the compatible endpoints, so that the clients print the message:
// OpenAI's `{"error": {"message", "type", "param", "code"}}` under /v1, Ollama's
// `{"error": "message"}` under /api and at /. The status and the Retry-After / X-Backoff-Ms
// headers are llama-orch's own (http::response::from_error); only the body's shape differs.
// The route table installs them as the router's error writers, so 404, 405 and auth failures on
// those paths have the same shape as the handlers' own errors.

#include <string_view>

#include <boost/json/fwd.hpp>

#include "http/message.h"

namespace llorch::orchestrator {

http::response openai_error(const api::error& e, std::string_view correlation_id);
http::response ollama_error(const api::error& e, std::string_view correlation_id);

// The error a task's `error` event carries ({code, message}); UPSTREAM_FAILED when it names no
// known code.
api::error task_error_of(const boost::json::object& ev);

// The field an INVALID_PARAMS message names ("temperature: must be ..." → "temperature"), or an
// empty string when it names none.
std::string_view error_param(const api::error& e);

}  // namespace llorch::orchestrator
