#pragma once
// What the load generator sends to each kind of target and how it reads the streamed answer:
// llama-orch's task API (POST /v2/tasks, then the task's SSE events, or both in one exchange),
// pool-managerd's /v2/pools/{id}/infer, llama-server's /completion and the OpenAI-compatible
// streaming endpoints. Pure functions over request parameters and parsed SSE events; no I/O.

#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "common/module_error.h"
#include "http/sse.h"

namespace llorch::bench {

enum class target_kind {
    orch,                // POST /v2/tasks, then GET the events_url: started, token*, end | error
    orch_stream,         // POST /v2/tasks with Accept: text/event-stream: the events, one exchange
    pool,                // POST /v2/pools/{pool}/infer: started, token*, end | error
    llamacpp,            // POST /completion with stream: data {content, stop}
    openai_chat,         // POST /v1/chat/completions with stream: data {choices[0].delta}, [DONE]
    openai_completions,  // POST /v1/completions with stream: data {choices[0].text}, [DONE]
};

// "orch", "orch-stream", "pool", "llamacpp", "openai-chat", "openai-completions".
std::string_view to_string(target_kind k);
std::optional<target_kind> parse_target_kind(std::string_view name);

struct request_shape {
    std::string model;    // model name (orch, openai); ignored by llamacpp and pool
    std::string pool_id;  // pool target only
    std::string prompt = "Hello";
    int max_tokens = 32;
    bool ignore_eos = true;  // every request generates max_tokens tokens
};

// The request that starts a generation: for orch the task submission, otherwise the stream.
struct http_call {
    std::string path;
    std::string body;
};
http_call start_call(target_kind k, const request_shape& r, std::string_view task_id);

enum class protocol_errc {
    not_an_object,  // the answer is not a JSON object
    no_task,        // the answer names neither events_url nor task_id
};
using protocol_error = common::module_error<protocol_errc>;

// orch: the events path from a 202/200 answer to POST /v2/tasks; the error says what is wrong.
boost::system::result<std::string, protocol_error> events_path_from_submit(std::string_view body);

// What one SSE event of a stream means to the measurement.
struct stream_step {
    int tokens = 0;            // token-bearing chunks in this event (0 or 1)
    bool done = false;         // the stream's last meaningful event
    std::string error;         // non-empty: the stream failed (a code or a short reason)
    int tokens_reported = -1;  // the server's own count of generated tokens, when it says
    std::string pool_id;       // llama-orch's `started` event: the pool that took the request
};
stream_step interpret(target_kind k, const http::sse_event& e);

}  // namespace llorch::bench
