#pragma once
// A task's events in the wire formats of the compatible APIs: OpenAI's chunks (SSE, `[DONE]`
// last; the first chat delta names the role; a usage chunk with `stream_options.include_usage`)
// and Ollama's NDJSON lines, plus the figures both put in a whole answer. The task's log is read
// through the same reader GET /v2/tasks/{id}/events uses.
// Owner: the HTTP session streaming the answer. Thread: the control plane's io thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "http/message.h"
#include "http/sse.h"
#include "orchestrator/compat_request.h"

namespace llorch::orchestrator {
namespace asio = boost::asio;

long long unix_now();
std::string iso_now();
// `t` as RFC 3339 in UTC, to the second ("2026-12-02T06:10:00Z").
std::string iso_time(std::chrono::system_clock::time_point t);

// The task's events, one at a time, from its log.
class event_cursor {
  public:
    explicit event_cursor(std::shared_ptr<http::body_stream> reader) : reader_(std::move(reader)) {}
    asio::awaitable<std::optional<http::sse_event>> next();
    // An event already read, if any: next() without waiting.
    std::optional<http::sse_event> take();
    void disconnect() { reader_->on_disconnect(); }

  private:
    std::shared_ptr<http::body_stream> reader_;
    http::sse_parser parser_;
    std::vector<http::sse_event> batch_;
    size_t i_ = 0;
};

struct compat_ctx {
    dialect d;
    std::string id;
    std::string model;
    bool include_usage = false;
    long long created = unix_now();
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};

// What an `end` event says, with the engine's counts (-1 where it said nothing).
struct end_figures {
    std::string finish_reason = "stop";
    long long tokens_out = 0;
    long long tokens_in = -1;
    long long decode_ms = -1;
};
end_figures end_figures_of(const boost::json::object& end);

// OpenAI's usage object: prompt, completion and total tokens.
boost::json::object openai_usage(const end_figures& e);
// An Ollama answer line (without its newline): `text` as `response` or `message.content`;
// `done` lines add done_reason and the counts.
// `tool_calls` (chat), in OpenAI's form, become the message's calls in Ollama's.
std::string ollama_line(const compat_ctx& c, const std::string& text, bool done,
                        const end_figures* end = nullptr, const char* done_reason = nullptr,
                        const boost::json::array* tool_calls = nullptr);

// Adds a piece of a tool call (a task's `tool_call` event) to the calls of an answer, in
// OpenAI's form ({id, type, function: {name, arguments}}), assembled by their index.
void add_tool_call_piece(boost::json::array& calls, const boost::json::object& ev);

// The streamed answer of a task, in the format of c.d.
std::shared_ptr<http::body_stream> make_compat_stream(compat_ctx c,
                                                      std::shared_ptr<http::body_stream> reader);

}  // namespace llorch::orchestrator
