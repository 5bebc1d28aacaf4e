#pragma once
// OpenAI's Responses API (POST /v1/responses) as a chat completion: `input` (a string, or
// items: messages whose content is a string or input_text parts, the model's earlier
// function_call items and their function_call_output) and `instructions` become the chat's
// messages, `max_output_tokens` its max_tokens, function `tools` / `tool_choice` and
// `text.format` (json_object, json_schema) the chat's tools and response_format
// (compat_responses.cpp). The answer (compat_responses_answer.cpp) is a `response` object with a
// message of output_text and a function_call item per tool call, whole or streamed as the
// `response.*` events the openai client reads (created, output_item.added,
// content_part.added, output_text.delta, function_call_arguments.delta ... completed). Stored
// responses (`previous_response_id`, `conversation`, `background`) and built-in tools are
// refused by name. Pure formatting over the task's events, as compat_stream.h.
// Owner: the compat handlers and the HTTP session of the answer. Thread: the control plane's
// io thread.

#include <memory>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "orchestrator/compat_request.h"
#include "orchestrator/compat_stream.h"

namespace llorch::orchestrator {

// The Responses request as the task body of the chat completion it means.
api::api_result<compat_request> translate_responses_request(const boost::json::object& in);

// The whole answer of a task as a `response` object.
// `calls`: the answer's tool calls in the chat form (add_tool_call_piece).
std::string responses_answer(const compat_ctx& c, const std::string& text,
                             const boost::json::array& calls, const end_figures& e);

// The streamed answer of a task as `response.*` events.
std::shared_ptr<http::body_stream> make_responses_stream(compat_ctx c,
                                                         std::shared_ptr<http::body_stream> reader);

}  // namespace llorch::orchestrator
