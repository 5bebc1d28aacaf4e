#pragma once
// The wire format of llama.cpp's llama-server as the simulator speaks it: request parsing for
// POST /completion, /v1/chat/completions and /v1/completions (and, through ollama_frames.h,
// Ollama's /api/generate and /api/chat), the SSE frames of a streamed
// generation, the whole-response bodies, and the error envelopes. Matched field by field against
// the real server (llama.cpp b1-de3ff81) so that an engine adapter cannot tell the two apart.
// Pure functions and a small value type; no I/O.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>
#include <boost/system/result.hpp>

namespace llorch::sim {

enum class api_kind {
    completion,       // POST /completion: llama-server's native format
    chat,             // POST /v1/chat/completions
    text_completion,  // POST /v1/completions
    ollama_generate,  // POST /api/generate (ollama_frames.h)
    ollama_chat,      // POST /api/chat
};

constexpr bool is_ollama(api_kind a) {
    return a == api_kind::ollama_generate || a == api_kind::ollama_chat;
}

struct gen_request {
    api_kind api = api_kind::completion;
    std::optional<int>
        n_predict;  // n_predict, max_tokens or max_completion_tokens; unset or < 0: default
    bool stream = false;
    bool ignore_eos = false;
    bool include_usage = false;  // stream_options.include_usage (chat)
    int prompt_tokens = 1;       // estimated, for tokens_evaluated / prompt_tokens
    std::string model;           // Ollama: the model asked for (echoed in every line)
};

struct api_error {
    int status = 500;
    std::string message;
    std::string type;  // invalid_request_error, server_error, ...
};

// The request, or the 400/500 error llama-server would give for this body.
boost::system::result<gen_request, api_error> parse_gen_request(api_kind api,
                                                                std::string_view body);

// {"error":{"code":N,"message":...,"type":...}}: the envelope of request and server errors.
std::string error_body(const api_error& e);

// The prompt tokens of chat messages: each message's text plus the few a chat template adds.
int count_messages(const boost::json::array& messages);
// {"error":{"message":...,"type":...,"code":N}}: the envelope llama-server's middleware uses
// (401 Invalid API Key, 503 Loading model, 404 File Not Found).
std::string middleware_error_body(int code, std::string_view message, std::string_view type);

// What a finished generation reports.
struct gen_summary {
    int tokens_predicted = 0;
    int tokens_evaluated = 0;
    bool eos = false;  // stopped by end-of-sequence rather than by the token limit
    int slot = -1;
    double prompt_ms = 0;     // slot granted → first token
    double predicted_ms = 0;  // first token → last token
};

// Formats one generation's frames. Built per request; `id` and `created` are the OpenAI
// completion id and timestamp shared by all of its chunks.
class sim_frames {
  public:
    sim_frames(api_kind api, std::string model, std::string id, long long created,
               bool include_usage, int tokens_evaluated);

    // Frames sent before the first token (the chat role delta), appended to `out`.
    void append_start(std::string& out) const;
    // One token's frame; `tokens_predicted` counts this token.
    void append_token(std::string& out, std::string_view text, int token_id,
                      int tokens_predicted) const;
    // The closing frames: the final object, the usage chunk, `data: [DONE]` as the API has them.
    void append_finish(std::string& out, const gen_summary& s) const;
    // The non-streamed response body.
    std::string whole(const gen_summary& s, std::string_view content) const;

    static constexpr std::string_view system_fingerprint = "b1-llorch-sim";

  private:
    api_kind api_;
    std::string model_;
    std::string id_;
    long long created_;
    bool include_usage_;
    int tokens_evaluated_;
    std::string created_at_;  // Ollama's RFC 3339 form of `created`
};

}  // namespace llorch::sim
