#include "orchestrator/dashboard_routes.h"

#include "dashboard/dashboard_assets.h"

namespace llorch::orchestrator {
namespace asio = boost::asio;
namespace {

http::response file_response(const dashboard::asset& a) {
    auto r = http::response::text(200, std::string(a.body), std::string(a.content_type));
    // Served again after an upgrade; nothing here is worth a stale copy.
    r.headers.add("Cache-Control", "no-cache");
    r.headers.add("X-Content-Type-Options", "nosniff");
    // The page loads nothing from elsewhere and talks only to this daemon.
    r.headers.add("Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors "
                  "'none'");
    return r;
}

asio::awaitable<http::response> serve_asset(http::request q) {
    auto a = dashboard::find_asset(q.params.at(0));
    if (!a)
        co_return http::response::from_error(
            api::make_error(api::error_code::not_found, "no dashboard file '" + q.params[0] + "'"),
            q.correlation_id);
    co_return file_response(*a);
}

asio::awaitable<http::response> page_or(http::handler otherwise, http::request q) {
    if (wants_dashboard(q)) co_return file_response(dashboard::index_page());
    co_return co_await otherwise(std::move(q));
}

}  // namespace

bool wants_dashboard(const http::request& q) {
    auto accept = q.header("Accept");
    return (q.method == "GET" || q.method == "HEAD") && accept && dashboard::prefers_html(*accept);
}

void add_dashboard_assets(http::router& r) {
    r.add("GET", "/ui/{name}", serve_asset, {.public_route = true});
}

http::handler dashboard_or(http::handler otherwise) {
    return [otherwise = std::move(otherwise)](http::request q) {
        return page_or(otherwise, std::move(q));
    };
}

}  // namespace llorch::orchestrator
