#pragma once
// What the client commands share: where orchestratord is (--url, LLORCH_URL), the token
// (LLORCH_API_TOKEN), running a command's coroutine, and one JSON call that explains its failure
// on stderr in one line.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include "http/client.h"
#include "http/sse.h"

namespace llorch::cli {
namespace asio = boost::asio;

// LLORCH_URL, else http:// + ORCHESTRATORD_ADDR, else http://127.0.0.1:8080.
std::string default_url();
// Authorization: Bearer <LLORCH_API_TOKEN> when one is set.
void add_auth(http::client_request& r);
// "CODE: message" from an error envelope, else the status and the start of the body.
std::string describe_error(const std::string& body, int status);
// `id` as one path segment: '/' (a cluster pool name, node/pool) and other reserved bytes escaped.
std::string path_segment(std::string_view id);
// --url, defaulting to default_url(); --json.
void add_url_option(CLI::App* sub, std::string& url);
void add_json_option(CLI::App* sub, bool& json);

// `method url` with a JSON body (empty: none) and the token; the parsed answer when its status is
// 2xx, else nullopt after one line on stderr saying why (unreachable, or the error's code and
// message).
asio::awaitable<std::optional<boost::json::value>> call_json(http::client& c, std::string method,
                                                             std::string url,
                                                             std::string body = {});

// An event stream a command follows (GET with Accept: text/event-stream and the token).
class event_stream {
  public:
    // Opens `url`; nullopt after one line on stderr saying why (unreachable, or the error's code
    // and message). `refused`, when given, says which: true when the server answered another
    // status than 200 (a retry will not help), false when it could not be reached.
    static asio::awaitable<std::optional<event_stream>> open(http::client& c, std::string url,
                                                             std::chrono::seconds read_timeout,
                                                             bool* refused = nullptr);
    // The events of the next piece: `ended` when the stream ended, `broken` (with one line on
    // stderr) when it broke or stayed silent past the read timeout.
    struct batch {
        std::vector<http::sse_event> events;
        bool ended = false;
        bool broken = false;
    };
    asio::awaitable<batch> next();

  private:
    std::unique_ptr<http::response_stream> s_;
    std::chrono::seconds read_timeout_{};
    http::sse_parser parser_;
};

template <class T>
T run(asio::io_context& io, asio::awaitable<T> aw) {
    std::optional<T> out;
    std::exception_ptr err;
    asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
        if (e)
            err = e;
        else
            out.emplace(std::move(v));
    });
    io.run();
    if (err) std::rethrow_exception(err);
    return std::move(*out);
}

// A string member of `o`, or `fallback`.
std::string str(const boost::json::object& o, const char* key, const std::string& fallback = "-");
// A number member of `o`, or `fallback`.
double num(const boost::json::object& o, const char* key, double fallback = -1);

}  // namespace llorch::cli
