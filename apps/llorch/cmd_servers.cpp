// `llorch servers`: the server monitor (GET /v2/servers) as a table — each upstream's health from
// probes, latency moving averages, error rate and load, then each node's aggregate — or as the
// route's JSON with --json.
#include <cstdio>
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include "client_support.h"
#include "commands.h"

namespace llorch::cli {
namespace json = boost::json;

namespace {

std::string ms_or_dash(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    if (!v || !v->is_number()) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v->to_number<double>());
    return buf;
}

std::string percent(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * x);
    return buf;
}

asio::awaitable<int> servers(asio::io_context& io, std::string url, bool as_json) {
    http::client c(io);
    auto v = co_await call_json(c, "GET", url + "/v2/servers");
    if (!v) co_return 1;
    if (as_json) {
        std::cout << json::serialize(*v) << "\n";
        co_return 0;
    }
    const auto& o = v->as_object();
    std::printf("%-28s %-8s %-10s %-9s %-9s %-8s %-9s %-6s %s\n", "SERVER", "ENGINE", "HEALTH",
                "TTFT ms", "E2E ms", "ERRORS", "IN FLIGHT", "UTIL", "REQUESTS");
    for (const auto& sv : o.at("servers").as_array()) {
        const auto& s = sv.as_object();
        const auto& h = s.at("health").as_object();
        std::string health = h.at("healthy").as_bool() ? "up" : "DOWN";
        if (!h.at("healthy").as_bool() && num(h, "bad_run", 0) > 0)
            health += " (" + std::to_string(static_cast<long long>(num(h, "bad_run", 0))) + ")";
        auto load = std::to_string(static_cast<long long>(num(s, "in_flight", 0))) + "/" +
                    std::to_string(static_cast<long long>(num(s, "capacity", 0)));
        std::printf("%-28s %-8s %-10s %-9s %-9s %-8s %-9s %-6s %lld\n", str(s, "name").c_str(),
                    str(s, "engine").c_str(), health.c_str(), ms_or_dash(s, "ttft_ewma_ms").c_str(),
                    ms_or_dash(s, "e2e_ewma_ms").c_str(), percent(num(s, "error_rate", 0)).c_str(),
                    load.c_str(), percent(num(s, "utilization", 0)).c_str(),
                    static_cast<long long>(num(s, "requests_total", 0)));
    }
    const auto& nodes = o.at("nodes").as_array();
    if (str(o, "profile", "") == "cloud" && !nodes.empty()) {
        std::printf("\n%-20s %-8s %-9s %-9s %-9s %-8s %-9s %s\n", "NODE", "HEALTH", "UPSTREAMS",
                    "TTFT ms", "E2E ms", "ERRORS", "IN FLIGHT", "UTIL");
        for (const auto& nv : nodes) {
            const auto& n = nv.as_object();
            auto ups = std::to_string(static_cast<long long>(num(n, "healthy_upstreams", 0))) +
                       "/" + std::to_string(static_cast<long long>(num(n, "upstreams", 0)));
            auto load = std::to_string(static_cast<long long>(num(n, "in_flight", 0))) + "/" +
                        std::to_string(static_cast<long long>(num(n, "capacity", 0)));
            std::printf("%-20s %-8s %-9s %-9s %-9s %-8s %-9s %s\n", str(n, "node_id").c_str(),
                        n.at("healthy").as_bool() ? "up" : "DOWN", ups.c_str(),
                        ms_or_dash(n, "ttft_ewma_ms").c_str(), ms_or_dash(n, "e2e_ewma_ms").c_str(),
                        percent(num(n, "error_rate", 0)).c_str(), load.c_str(),
                        percent(num(n, "utilization", 0)).c_str());
        }
    }
    co_return 0;
}

}  // namespace

void add_servers_command(CLI::App& app) {
    auto url = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand(
        "servers",
        "The server monitor: each upstream's health from probes, TTFT and end-to-end moving "
        "averages, error rate, in flight vs capacity, utilization; per node in CLOUD");
    add_url_option(sub, *url);
    add_json_option(sub, *as_json);
    sub->callback([url, as_json] {
        asio::io_context io;
        std::exit(run(io, servers(io, *url, *as_json)));
    });
}

}  // namespace llorch::cli
