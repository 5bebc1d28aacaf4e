#pragma once
// How one kind of engine is asked for a streamed generation and how its stream is decoded.
// An adapter is stateless and shared; a decoder holds the state of one stream.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engines/generation.h"

namespace llorch::engines {

enum class engine_kind_id { llamacpp, openai, ollama };

// One decoded step of an engine's stream.
struct engine_event {
    enum class kind { token, tool_call, embedding, end, error } type = kind::token;
    std::string text;  // token: a non-empty chunk of text
    // tool_call: a piece of the answer's call number `tool_index`: its first piece names the call
    // (`tool_id`, `tool_name`), every piece may add to its JSON arguments (`text`), as OpenAI's
    // streamed deltas do. embedding: the vector of input number `tool_index`, as a JSON array
    // (`text`; embeddings.h).
    int tool_index = 0;
    std::string tool_id;
    std::string tool_name;
    int tokens_out = -1;        // end: the engine's count of generated tokens, if it said
    int tokens_in = -1;         // end: the engine's count of prompt tokens, if it said
    long long decode_ms = -1;   // end: the engine's own decode time, if it said
    std::string finish_reason;  // end: "stop", "length" or "tool_calls"
    std::string message;        // error: what the engine said
};

// Whether `e` ends its stream (end or error).
inline bool is_terminal(const engine_event& e) {
    return e.type == engine_event::kind::end || e.type == engine_event::kind::error;
}
// A tool_call event as JSON (the `tool_call` event of llama-orch's streams, `i` its index in the
// stream) and back.
std::string tool_call_json(const engine_event& e, long long i);
std::optional<engine_event> tool_call_of(std::string_view json_text);

class stream_decoder {
  public:
    virtual ~stream_decoder() = default;
    // Feeds raw body bytes as they arrive; decoded events are appended to `out`.
    virtual void feed(std::string_view bytes, std::vector<engine_event>& out) = 0;
    // The body ended; `out` gets an end event when the engine's own end never came.
    virtual void finish(std::vector<engine_event>& out) = 0;
};

struct engine_call {
    std::string path;  // e.g. "/completion"
    std::string body;  // JSON
};

class engine_adapter {
  public:
    virtual ~engine_adapter() = default;
    virtual engine_call build(const generation_request& g, const std::string& model_name) const = 0;
    virtual std::unique_ptr<stream_decoder> decoder(const generation_request& g) const = 0;
    virtual std::string health_path() const = 0;
};

// The adapter of an engine kind (llama.cpp's llama-server and llorch-sim share one).
const engine_adapter& adapter_for(engine_kind_id k);

}  // namespace llorch::engines
