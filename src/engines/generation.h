#pragma once
// The generation part of a request, common to POST /v2/tasks, /v1/* and a node's
// POST /v2/pools/{id}/infer: what to generate and how to sample it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "api/error.h"

namespace llorch::engines {

// One chat message. Tool calling adds an assistant's `tool_calls` (its content may then be null)
// and a `tool` message's `tool_call_id`: kept as the client sent them (JSON text), for engines
// that speak OpenAI's chat format.
struct chat_message {
    std::string role;
    std::string content;
    bool content_null = false;  // an assistant message with tool_calls and no content
    std::string tool_calls;     // JSON array text, or empty
    std::string tool_call_id;   // a tool message: the call it answers
    std::string name;           // a tool message: the function's name (optional)
};

struct generation_request {
    std::optional<std::string> prompt;
    std::vector<chat_message> messages;  // chat when non-empty
    // Texts to embed: when non-empty the request asks for embeddings, not a generation, and
    // prompt and messages are empty (embeddings.h).
    std::vector<std::string> embed;
    int max_tokens = 0;  // 0: the pool's default
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::optional<int> top_k;
    std::optional<long long> seed;
    std::vector<std::string> stop;
    bool ignore_eos = false;  // benchmarks: every request generates max_tokens tokens
    // More sampling and output-format fields, sent to the engine as they are (a JSON object of
    // the names in engine_param_names(); empty: none). The compatible APIs fill it.
    std::string engine_params;
    std::string task_id;
    int attempt = 0;
};

// Bounds on what a request may ask for: a top_k past any vocabulary, or thousands of stop
// strings (each checked at every token), are refused rather than passed to the engine.
inline constexpr long long max_top_k = 1'000'000;
inline constexpr size_t max_stop_strings = 32;
inline constexpr size_t max_stop_bytes = 512;

// The fields `engine_params` may carry: OpenAI's and llama.cpp's names for penalties, logit
// bias, min_p / typical_p, structured output (response_format, json_schema, grammar) and tool
// calling (tools, tool_choice, parallel_tool_calls).
const std::vector<std::string_view>& engine_param_names();

// Reads the generation fields of a JSON object (prompt or inputs[], messages, max_tokens,
// temperature, top_p, top_k, seed, stop, ignore_eos, engine_params, task_id, attempt); wrong
// types are INVALID_PARAMS errors that name the field.
api::api_result<generation_request> parse_generation(const boost::json::object& o);
// A message as OpenAI's chat format writes it (content null beside tool_calls).
boost::json::object message_json(const chat_message& m);
// The same fields back as JSON (what orchestratord sends to a node).
std::string to_json(const generation_request& g);
// Adds the sampling fields that are set (temperature, top_p, top_k, seed, stop) to `o`; the
// names are the same in llama-orch's, llama.cpp's, OpenAI's and Ollama's requests.
void add_sampling(boost::json::object& o, const generation_request& g);
// The engine_params of `g`, parsed (an empty object when there are none).
boost::json::object engine_params(const generation_request& g);

// The first field of `g` that an engine of kind `engine` ("llamacpp", "openai", "ollama", "sim")
// cannot honour, with why; nullopt when it can run `g` as asked. Tool calling needs an engine
// that speaks OpenAI's chat format with tools (llama-server, OpenAI-compatible servers).
struct unsupported_field {
    std::string field;
    std::string why;
};
std::optional<unsupported_field> field_unsupported_by(std::string_view engine,
                                                      const generation_request& g);
// Whether `g` asks for tool calling (tools offered, or tool calls / results in its messages).
bool uses_tools(const generation_request& g);

// Whether `s` is valid UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace llorch::engines
