#pragma once
// OpenAI's Responses API (POST /v1/responses) as a chat completion: `input` (a string, or
// messages whose content is a string or input_text parts) and `instructions` become the chat's
// messages, `max_output_tokens` its max_tokens; the answer is a `response` object with one
// message of output_text, whole or streamed as the `response.*` events the openai client reads
// (created, output_item.added, content_part.added, output_text.delta ... completed). Tools,
// stored responses (`previous_response_id`, `background`) and structured `text.format` are
// refused by name. Pure formatting over the task's events, as compat_stream.h.
// Owner: the compat handlers and the HTTP session of the answer. Thread: the control plane's
// io thread.

#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include "orchestrator/compat_request.h"
#include "orchestrator/compat_stream.h"

namespace llorch::orchestrator {

// The Responses request as the task body of the chat completion it means.
api::api_result<compat_request> translate_responses_request(const boost::json::object& in);

// The whole answer of a task as a `response` object.
std::string responses_answer(const compat_ctx& c, const std::string& text, const end_figures& e);

// The streamed answer of a task as `response.*` events.
std::shared_ptr<http::body_stream> make_responses_stream(compat_ctx c,
                                                         std::shared_ptr<http::body_stream> reader);

}  // namespace llorch::orchestrator
