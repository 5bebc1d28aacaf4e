#pragma once
// The route table of a daemon: method + path pattern ("/v2/tasks/{id}/events") → handler.
// Built once at start-up, then read-only; matched on the io thread.

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace llorch::http {

struct route_options {
    bool public_route = false;   // reachable without a token (/health, /metrics)
    bool service_route = false;  // node-to-control-plane calls: checked against service tokens
    // Reachable without a token when this says so of the request (GET / for a browser, which
    // gets the dashboard page and asks for the token itself); checked before the token.
    std::function<bool(const request&)> public_when;
};

class router {
  public:
    void add(std::string method, std::string pattern, handler h, route_options opts = {});

    struct match_result {
        const handler* h = nullptr;
        route_options opts;
        std::vector<std::string> params;
        bool path_known = false;  // some route has this path (405 rather than 404)
    };
    match_result match(std::string_view method, std::string_view path) const;

    // Every route as "METHOD pattern", for a daemon's --help or a 404 hint.
    std::vector<std::string> describe() const;

    // How errors of requests under `prefix` ("/v1": that path and everything below it; "/": the
    // root alone) are written, when an API there has its own error shape. Applies to the errors
    // the server answers itself (404, 405, auth, a handler's exception); the longest prefix wins.
    using error_writer = std::function<response(const api::error&, std::string_view corr)>;
    void set_error_writer(std::string prefix, error_writer w);
    // The error answer for a request to `path`: its prefix's writer, else the llama-orch envelope.
    response error_response(const api::error& e, std::string_view path,
                            std::string_view correlation_id) const;

  private:
    struct route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        handler h;
        route_options opts;
    };
    std::vector<route> routes_;
    std::vector<std::pair<std::string, error_writer>> error_writers_;
};

}  // namespace llorch::http
