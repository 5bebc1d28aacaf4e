#pragma once
// A compatible request (OpenAI or Ollama) translated into the body POST /v2/tasks takes, checked
// as the dialect documents its fields: OpenAI's ranges (`temperature` 0-2, `top_p` 0-1, `n` 1,
// penalties -2..2), `stream` a boolean, Ollama's `options`, `system`, `raw`, `format`, the
// `name:latest` tag and the load/unload idioms. A field llama-orch cannot honour is refused with
// INVALID_PARAMS naming it, never dropped. Pure: no I/O.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "api/error.h"

namespace llorch::orchestrator {

// openai_responses: the Responses API, run as a chat (compat_responses.h).
enum class dialect { openai_chat, openai_text, openai_responses, ollama_generate, ollama_chat };

inline bool is_ollama(dialect d) {
    return d == dialect::ollama_generate || d == dialect::ollama_chat;
}

struct compat_request {
    boost::json::object task_body;  // for parse_task_spec
    std::string model;              // as the client named it: echoed in the answer
    bool stream = false;
    bool include_usage = false;  // OpenAI stream_options.include_usage: a final usage chunk
    // Ollama's idioms of a request without anything to generate: `load` (model alone) warms the
    // model, `unload` (keep_alive 0) releases it; neither runs a generation.
    enum class idiom { none, load, unload } ollama_idiom = idiom::none;
    // Ollama's keep_alive in ms (negative: keep loaded; 0: unload after this request); it
    // travels in the task body as keep_alive_ms.
    std::optional<long long> keep_alive_ms;
};

api::api_result<compat_request> translate_request(const boost::json::object& in, dialect d);

// Ollama's keep_alive in milliseconds: a number of seconds, or a Go duration string ("5m",
// "1h30m", "300ms"); negative keeps the model loaded (-1), at most a week. Absent (nullptr):
// nullopt; anything else is INVALID_PARAMS naming keep_alive.
api::api_result<std::optional<long long>> ollama_keep_alive_ms(const boost::json::value* v);

// A message's content: a string, or an array of parts whose `type` is one of `text_types`
// (their texts joined by newlines); another part type is refused naming it.
api::api_result<std::string> parts_text(const boost::json::value& c, const std::string& field,
                                        std::initializer_list<std::string_view> text_types);

// A model name as Ollama clients write it: `tiny:latest` is `tiny`.
std::string ollama_model_name(std::string_view name);

}  // namespace llorch::orchestrator
