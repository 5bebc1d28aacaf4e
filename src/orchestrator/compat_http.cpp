#include "orchestrator/compat_http.h"

#include "orchestrator/compat_errors.h"

namespace llorch::orchestrator {
using http::request;
using http::response;

bool cors_policy::allows(std::string_view origin) const {
    for (const auto& o : extra_)
        if (o == "*" || o == origin) return true;
    for (std::string_view scheme : {"app://", "file://", "tauri://", "vscode-webview://",
                                    "chrome-extension://", "moz-extension://"})
        if (origin.starts_with(scheme)) return true;
    std::string_view rest;
    if (origin.starts_with("http://"))
        rest = origin.substr(7);
    else if (origin.starts_with("https://"))
        rest = origin.substr(8);
    else
        return false;
    for (std::string_view host : {"localhost", "127.0.0.1", "[::1]"}) {
        if (!rest.starts_with(host)) continue;
        auto port = rest.substr(host.size());
        if (port.empty()) return true;
        if (port.front() != ':' || port.size() < 2 || port.size() > 6) return false;
        return port.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
    }
    return false;
}

namespace {

void add_cors(response& r, std::string_view origin) {
    r.headers.add("Access-Control-Allow-Origin", std::string(origin));
    r.headers.add("Vary", "Origin");
    r.headers.add("Access-Control-Expose-Headers", "x-request-id, X-Correlation-Id, Retry-After");
}

// An id a client may send: printable ASCII, at most 128 characters.
bool usable_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

asio::awaitable<response> with_headers(http::handler h, std::shared_ptr<const cors_policy> cors,
                                       request q) {
    auto origin = q.header("Origin");
    std::string origin_s = origin ? std::string(*origin) : std::string();
    auto rid = q.header("X-Request-Id");
    std::string request_id = rid && usable_id(*rid) ? std::string(*rid) : q.correlation_id;
    response r;
    if (origin && !cors->allows(origin_s)) {
        auto e = api::make_error(api::error_code::forbidden,
                                 "origin '" + origin_s +
                                     "' may not call this server (ORCHESTRATORD_CORS_ORIGINS "
                                     "lists the origins allowed besides loopback ones)");
        r = q.path.starts_with("/v1") ? openai_error(e, q.correlation_id)
                                      : ollama_error(e, q.correlation_id);
    } else {
        r = co_await h(std::move(q));
        if (origin) add_cors(r, origin_s);
    }
    r.headers.add("x-request-id", request_id);
    co_return r;
}

asio::awaitable<response> preflight(std::shared_ptr<const cors_policy> cors, request q) {
    auto r = response::no_content();
    auto origin = q.header("Origin");
    if (!origin || !cors->allows(*origin)) co_return r;  // no CORS headers: the browser refuses
    add_cors(r, *origin);
    r.headers.add("Access-Control-Allow-Methods", "GET, POST, DELETE, HEAD, OPTIONS");
    auto asked = q.header("Access-Control-Request-Headers");
    r.headers.add("Access-Control-Allow-Headers",
                  asked ? std::string(*asked)
                        : std::string("Authorization, Content-Type, X-Request-Id, "
                                      "X-Correlation-Id, OpenAI-Organization, OpenAI-Project"));
    r.headers.add("Access-Control-Max-Age", "600");
    co_return r;
}

}  // namespace

http::handler with_compat_headers(http::handler h, std::shared_ptr<const cors_policy> cors) {
    return [h = std::move(h), cors](request q) { return with_headers(h, cors, std::move(q)); };
}

http::handler cors_preflight(std::shared_ptr<const cors_policy> cors) {
    return [cors](request q) { return preflight(cors, std::move(q)); };
}

}  // namespace llorch::orchestrator
