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

  private:
    struct route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        handler h;
        route_options opts;
    };
    std::vector<route> routes_;
};

}  // namespace llorch::http
