#pragma once
// Ollama's wire format as llorch-sim speaks it: POST /api/generate and /api/chat bodies, their
// NDJSON stream lines and whole answers, GET /api/tags, and Ollama's error envelope
// `{"error": "..."}`. Shaped after Ollama 0.5's API documentation (docs/api.md); only the fields
// clients and llama-orch's Ollama adapter read carry meaning (durations are the simulated
// times, in nanoseconds). Pure functions; no I/O.

#include <string>
#include <string_view>
#include <vector>

#include "sim/sim_frames.h"

namespace llorch::sim {

// `{"error":"..."}`.
std::string ollama_error_body(std::string_view message);

// The request fields of POST /api/generate (api_kind::ollama_generate) or /api/chat; `stream`
// defaults to true as in Ollama. A missing or unknown model is the caller's to check.
boost::system::result<gen_request, api_error> parse_ollama_request(api_kind api,
                                                                   std::string_view body);

// One streamed line with one token's text.
void append_ollama_token(std::string& out, api_kind api, std::string_view model,
                         std::string_view created_at, std::string_view text);
// The last streamed line (`done: true` with the counts and durations), or the whole answer when
// `content` is given (stream: false).
void append_ollama_final(std::string& out, api_kind api, std::string_view model,
                         std::string_view created_at, const gen_summary& s,
                         std::string_view content);

// GET /api/tags for the models the engine serves.
std::string ollama_tags_body(const std::vector<std::string>& models, std::string_view modified_at);

// RFC 3339 UTC time of a Unix timestamp in seconds, as Ollama writes `created_at`.
std::string rfc3339(long long unix_seconds);

}  // namespace llorch::sim
