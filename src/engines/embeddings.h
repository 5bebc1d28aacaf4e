#pragma once
// Embedding requests: texts in, one vector per text out. A generation_request whose `embed` is
// not empty asks for embeddings instead of a generation. It runs as a task like any other
// (queued, placed on a pool with `embeddings = true`, cancelled when its client leaves); its
// answer is one `embedding` event per text, in input order, then `end` with the engine's count
// of input tokens. The engine answers with one JSON body (not a stream): the decoder keeps it
// and reads it at the end. Pure apart from JSON.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "api/error.h"
#include "engines/engine_adapter.h"

namespace llorch::engines {

// OpenAI's own bound on the inputs of one request.
inline constexpr size_t max_embed_inputs = 2048;
// The longest engine answer read: 2,048 vectors of 4,096 numbers written out fit.
inline constexpr size_t max_embed_answer_bytes = size_t{256} << 20;

// Reads a task body's `embed`: a string, or an array of 1 to max_embed_inputs strings; each
// non-empty valid UTF-8. Absent: nothing to embed (g.embed stays empty).
api::api_result<void> parse_embed(const boost::json::object& o, generation_request& g);

// The engine request for g.embed: llama-server and OpenAI-compatible servers take OpenAI's
// POST /v1/embeddings (floats asked for), Ollama its POST /api/embed.
engine_call embedding_call(engine_kind_id k, const generation_request& g, const std::string& model);
// Reads that answer into `embedding` events and `end` (or an `error`).
std::unique_ptr<stream_decoder> embedding_decoder(engine_kind_id k, size_t inputs);

// An embedding event as JSON (the `embedding` event of llama-orch's streams: `index` the input,
// `embedding` the vector, `i` the event's place in the stream) and back.
std::string embedding_json(const engine_event& e, long long i);
std::optional<engine_event> embedding_of(std::string_view json_text);

}  // namespace llorch::engines
