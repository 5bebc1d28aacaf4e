#pragma once
// The HTTP types the rest of llama-orch sees: a parsed request, a response (whole or streamed),
// and a handler. Beast itself stays inside src/http's .cpp files.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include "api/error.h"
#include "http/client_departure.h"

namespace llorch::http {
namespace asio = boost::asio;

// Header fields in arrival order; names compare case-insensitively.
class header_list {
  public:
    void add(std::string name, std::string value) {
        items_.emplace_back(std::move(name), std::move(value));
    }
    std::optional<std::string_view> find(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  private:
    std::vector<std::pair<std::string, std::string>> items_;
};

struct request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // as received: path and query
    std::string path;    // without the query
    std::string query;   // raw, without '?'
    header_list headers;
    std::string body;
    std::string remote_address;
    std::vector<std::string> params;  // the `{...}` captures of the matched route, in order
    std::string correlation_id;       // X-Correlation-Id, echoed or generated
    std::string identity;             // "token:<fp6>" or "localhost"
    // Set by the server: fires when the client goes away before the answer is out. Null when
    // a handler is called outside a server.
    std::shared_ptr<client_departure> departure;

    std::optional<std::string_view> header(std::string_view name) const {
        return headers.find(name);
    }
    // Value of a query parameter (percent-decoded), if present.
    std::optional<std::string> query_param(std::string_view name) const;
};

// %XX escapes decoded (a malformed escape stays as it is); `plus_is_space` for query strings.
std::string percent_decode(std::string_view s, bool plus_is_space = false);
// Every byte but the unreserved ones (RFC 3986: letters, digits, - _ . ~) as %XX: a path
// segment or a query value.
std::string percent_encode(std::string_view s);

// A streamed response body, pulled by the connection's session: the producer never touches the
// socket, and a client that goes away reaches it as on_disconnect(). Used on the session's thread.
class body_stream {
  public:
    virtual ~body_stream() = default;
    // The next chunk to send. std::nullopt ends the stream; an empty string means nothing came
    // within max_wait, and the session sends a keep-alive comment instead.
    virtual asio::awaitable<std::optional<std::string>> next(
        std::chrono::milliseconds max_wait) = 0;
    // The client disconnected (or stopped reading past the write timeout); next() must return
    // std::nullopt promptly after this.
    virtual void on_disconnect() {}
    // True once next() has returned the stream's last chunk: the session then sends it together
    // with the chunked body's end in one write. A stream that cannot tell returns false and ends
    // with std::nullopt as usual.
    virtual bool ended() const { return false; }
};

struct response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    header_list headers;
    // When set, the body is streamed (chunked) from here and `body` is ignored.
    std::shared_ptr<body_stream> stream;

    static response json(int status, std::string body) {
        response r;
        r.status = status;
        r.body = std::move(body);
        return r;
    }
    // A JSON object serialized as the body.
    static response json(int status, const boost::json::object& body);
    static response text(int status, std::string body, std::string content_type = "text/plain") {
        response r;
        r.status = status;
        r.body = std::move(body);
        r.content_type = std::move(content_type);
        return r;
    }
    static response no_content() {
        response r;
        r.status = 204;
        r.content_type.clear();
        return r;
    }
    // The error envelope with its status and, for backpressure, Retry-After / X-Backoff-Ms.
    static response from_error(const api::error& e, std::string_view correlation_id);
};

// from_error answering `q`: its correlation id is echoed.
response error_reply(const api::error& e, const request& q);

using handler = std::function<asio::awaitable<response>(request)>;

// A request target in absolute form ("http://host:port/path?q", as sent to a proxy) as the
// origin form ("/path?q") every route expects; other targets unchanged.
std::string origin_form(std::string_view target);

}  // namespace llorch::http
