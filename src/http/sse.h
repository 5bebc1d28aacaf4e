#pragma once
// Server-sent events framing: writing frames, and an incremental parser for reading a stream
// that arrives in arbitrary pieces (engine streams, relayed node streams, the CLI).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

namespace llorch::http {

struct sse_event {
    std::string event;  // empty: the default "message"
    std::string data;   // multi-line data joined with '\n'
    std::optional<std::string> id;
};

// Appends one frame: optional `id:`, optional `event:`, `data:` lines, blank line.
void append_sse(std::string& out, std::string_view event, std::string_view data,
                std::optional<long long> id = std::nullopt);
// The same frame as a string of its own.
std::string sse_frame(std::string_view event, std::string_view data);
// The same with a JSON object as its data.
std::string sse_frame(std::string_view event, const boost::json::object& data);

class sse_parser {
  public:
    // Feeds a piece of the stream; complete events are appended to `out`.
    void feed(std::string_view bytes, std::vector<sse_event>& out);
    // Bytes held for an event still incomplete (a bound against a peer that never ends a line).
    size_t pending_bytes() const { return line_.size() + cur_.data.size(); }

  private:
    void line(std::string_view l, std::vector<sse_event>& out);
    std::string line_;
    sse_event cur_;
    bool has_data_ = false;
    bool skip_lf_ = false;
};

}  // namespace llorch::http
