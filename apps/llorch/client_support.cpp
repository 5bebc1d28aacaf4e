#include "client_support.h"

#include <cstdlib>
#include <iostream>

#include <boost/json.hpp>

#include "http/listen.h"
#include "http/message.h"

namespace llorch::cli {
namespace json = boost::json;

std::string default_url() {
    if (const char* u = std::getenv("LLORCH_URL")) return u;
    if (const char* a = std::getenv("ORCHESTRATORD_ADDR")) return std::string("http://") + a;
    return "http://127.0.0.1:8080";
}

void add_auth(http::client_request& r) {
    auto token = http::outgoing_token_from_env({"LLORCH_API_TOKEN"});
    if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
}

std::string describe_error(const std::string& body, int status) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    // Only a well-formed envelope: a `code` or `message` of another type must not throw.
    if (!ec && v.is_object()) {
        auto* code = v.as_object().if_contains("code");
        auto* message = v.as_object().if_contains("message");
        if (code && code->is_string() && message && message->is_string())
            return std::string(code->get_string()) + ": " + std::string(message->get_string());
    }
    return "HTTP " + std::to_string(status) + ": " + body.substr(0, 200);
}

std::string path_segment(std::string_view id) { return http::percent_encode(id); }

void add_url_option(CLI::App* sub, std::string& url) {
    url = default_url();
    sub->add_option("--url", url,
                    "orchestratord's URL (env LLORCH_URL; the token comes from "
                    "LLORCH_API_TOKEN)")
        ->capture_default_str();
}

void add_json_option(CLI::App* sub, bool& json) {
    sub->add_flag("--json", json, "print JSON for scripts instead of a table");
}

asio::awaitable<std::optional<json::value>> call_json(http::client& c, std::string method,
                                                      std::string url, std::string body) {
    http::client_request r;
    r.method = std::move(method);
    r.url = url;
    r.body = std::move(body);
    r.timeout = std::chrono::minutes(10);
    add_auth(r);
    auto res = co_await c.send(r);
    if (!res) {
        std::cerr << "llorch: cannot reach llama-orch at " << url << ": " << res.error().message
                  << "\n  is orchestratord running? (--url or LLORCH_URL say where)\n";
        co_return std::nullopt;
    }
    if (res->status < 200 || res->status >= 300) {
        std::cerr << "llorch: " << describe_error(res->body, res->status) << "\n";
        co_return std::nullopt;
    }
    boost::system::error_code ec;
    auto v = json::parse(res->body, ec);
    if (ec) {
        std::cerr << "llorch: " << url << " answered something other than JSON\n";
        co_return std::nullopt;
    }
    co_return v;
}

std::string str(const json::object& o, const char* key, const std::string& fallback) {
    auto* v = o.if_contains(key);
    return v && v->is_string() && !v->get_string().empty() ? std::string(v->get_string())
                                                           : fallback;
}

double num(const json::object& o, const char* key, double fallback) {
    auto* v = o.if_contains(key);
    return v && v->is_number() ? v->to_number<double>() : fallback;
}

asio::awaitable<std::optional<event_stream>> event_stream::open(http::client& c, std::string url,
                                                                std::chrono::seconds read_timeout,
                                                                bool* refused) {
    http::client_request ev;
    ev.url = url;
    ev.headers.add("Accept", "text/event-stream");
    ev.timeout = read_timeout;
    add_auth(ev);
    auto st = co_await c.open(ev);
    if (refused) *refused = st && (*st)->status() != 200;
    if (!st) {
        std::cerr << "llorch: cannot reach llama-orch at " << url << ": " << st.error().message
                  << "\n";
        co_return std::nullopt;
    }
    if ((*st)->status() != 200) {
        std::string body;
        while (auto piece = co_await (*st)->read_some(std::chrono::seconds(10))) {
            if (piece->empty()) break;
            body += *piece;
        }
        std::cerr << "llorch: " << describe_error(body, (*st)->status()) << "\n";
        co_return std::nullopt;
    }
    event_stream out;
    out.s_ = std::move(*st);
    out.read_timeout_ = read_timeout;
    co_return out;
}

asio::awaitable<event_stream::batch> event_stream::next() {
    batch b;
    auto piece = co_await s_->read_some(read_timeout_);
    if (!piece) {
        std::cerr << "\nllorch: the stream broke: " << piece.error().message << "\n";
        b.broken = true;
    } else if (piece->empty()) {
        b.ended = true;
    } else {
        parser_.feed(*piece, b.events);
    }
    co_return b;
}

}  // namespace llorch::cli
