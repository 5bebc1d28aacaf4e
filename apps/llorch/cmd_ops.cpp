// An operator's commands: `llorch nodes`, `pools`, `tail TASK_ID`, `drain (--pool|--node) ID`,
// `reload POOL` (with a progress bar while the pool comes back). Each has --json for scripts.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "client_support.h"
#include "commands.h"
#include "http/sse.h"
#include "progress_bar.h"

namespace llorch::cli {
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string gib(double bytes) {
    if (bytes <= 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fG", bytes / (1024.0 * 1024 * 1024));
    return buf;
}

std::string ago(double ms) {
    if (ms < 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s ago", ms / 1000);
    return buf;
}

asio::awaitable<int> nodes(asio::io_context& io, std::string url, bool as_json) {
    http::client c(io);
    // HOME has no nodes route: the pools run inside orchestratord.
    auto caps = co_await call_json(c, "GET", url + "/v2/meta/capabilities");
    if (!caps) co_return 1;
    bool cloud = caps->is_object() && str(caps->as_object(), "profile", "") == "cloud";
    json::array list;
    if (cloud) {
        auto v = co_await call_json(c, "GET", url + "/v2/nodes");
        if (!v) co_return 1;
        list = v->as_object()["nodes"].as_array();
    }
    if (as_json) {
        std::cout << json::serialize(
                         json::object{{"profile", cloud ? "cloud" : "home"}, {"nodes", list}})
                  << "\n";
        co_return 0;
    }
    if (!cloud) {
        std::cout << "HOME profile: no nodes; the pools run inside orchestratord "
                     "(`llorch pools` lists them)\n";
        co_return 0;
    }
    std::printf("%-20s %-12s %-28s %-6s %-14s %s\n", "NODE", "STATE", "ADDRESS", "POOLS",
                "HEARTBEAT", "VERSION");
    for (const auto& v : list) {
        const auto& n = v.as_object();
        auto* pools = n.if_contains("pools");
        size_t np = pools && pools->is_array() ? pools->as_array().size() : 0;
        std::printf("%-20s %-12s %-28s %-6zu %-14s %s\n", str(n, "node_id").c_str(),
                    str(n, "state").c_str(), str(n, "address").c_str(), np,
                    ago(num(n, "last_heartbeat_ms_ago")).c_str(), str(n, "version").c_str());
    }
    co_return 0;
}

asio::awaitable<int> pools(asio::io_context& io, std::string url, bool as_json) {
    http::client c(io);
    auto v = co_await call_json(c, "GET", url + "/v2/pools");
    if (!v) co_return 1;
    if (as_json) {
        std::cout << json::serialize(*v) << "\n";
        co_return 0;
    }
    std::printf("%-24s %-12s %-14s %-10s %-8s %-11s %-13s %s\n", "POOL", "STATE", "MODEL", "ENGINE",
                "DEVICE", "SLOTS BUSY", "VRAM FREE", "LAST ERROR");
    for (const auto& pv : v->as_object()["pools"].as_array()) {
        const auto& p = pv.as_object();
        auto total = static_cast<long long>(num(p, "slots_total", 0));
        auto busy = static_cast<long long>(num(p, "in_flight", 0));
        auto slots = std::to_string(busy) + "/" + std::to_string(total);
        auto vram = gib(num(p, "vram_free_bytes", 0)) + "/" + gib(num(p, "vram_total_bytes", 0));
        std::printf("%-24s %-12s %-14s %-10s %-8s %-11s %-13s %s\n", str(p, "id").c_str(),
                    str(p, "state").c_str(), str(p, "name").c_str(), str(p, "engine").c_str(),
                    str(p, "device").c_str(), slots.c_str(), vram.c_str(),
                    str(p, "last_error", "").c_str());
    }
    co_return 0;
}

// A task's events: tokens as text on stdout and the rest on stderr, or every event as one JSON
// line ({"event", "data"}) with --json. 0 when the task ended, 1 on its error event.
asio::awaitable<int> tail(asio::io_context& io, std::string url, std::string id, bool as_json) {
    http::client c(io);
    auto st =
        co_await event_stream::open(c, url + "/v2/tasks/" + path_segment(id) + "/events", 24h);
    if (!st) co_return 1;
    for (;;) {
        auto b = co_await st->next();
        if (b.broken) co_return 1;
        if (b.ended) co_return 0;
        for (const auto& e : b.events) {
            boost::system::error_code ec;
            auto v = json::parse(e.data, ec);
            if (ec || !v.is_object()) continue;
            const auto& o = v.as_object();
            if (as_json) {
                std::cout << json::serialize(json::object{{"event", e.event}, {"data", v}})
                          << std::endl;
            } else if (e.event == "token") {
                std::cout << str(o, "t", "") << std::flush;
            } else if (e.event == "started") {
                auto node = str(o, "node_id", "");
                std::cerr << "[task " << id << " on pool " << (node.empty() ? "" : node + "/")
                          << str(o, "pool_id") << "]\n";
            } else if (e.event == "end") {
                std::cout << "\n";
                std::cerr << "[done: " << static_cast<long long>(num(o, "tokens_out", 0))
                          << " tokens, " << str(o, "finish_reason") << "]\n";
            } else if (e.event == "error") {
                std::cout << "\n";
                std::cerr << "llorch: task " << id << " failed: " << str(o, "code") << ": "
                          << str(o, "message") << "\n";
            }
            if (e.event == "end") co_return 0;
            if (e.event == "error") co_return 1;
        }
    }
}

struct drain_args {
    std::string url, pool, node;
    long long deadline_ms = 30'000;
    bool json = false;
};

asio::awaitable<int> drain(asio::io_context& io, drain_args a) {
    http::client c(io);
    auto body = json::serialize(json::object{{"deadline_ms", a.deadline_ms}});
    bool pool = !a.pool.empty();
    auto path = pool ? "/v2/pools/" + path_segment(a.pool) + "/drain"
                     : "/v2/nodes/" + path_segment(a.node) + "/drain";
    auto v = co_await call_json(c, "POST", a.url + path, body);
    if (!v) co_return 1;
    if (a.json) {
        std::cout << json::serialize(*v) << "\n";
        co_return 0;
    }
    const auto& o = v->as_object();
    if (pool)
        std::cout << "pool " << str(o, "id", a.pool) << ": " << str(o, "state")
                  << " (running tasks may finish for " << a.deadline_ms << " ms)\n";
    else
        std::cout << "node " << str(o, "node_id", a.node) << ": " << str(o, "state")
                  << " (out of placement; its pools drain for " << a.deadline_ms << " ms)\n";
    co_return 0;
}

struct reload_args {
    std::string url, pool, model;
    bool json = false;
};

// How far a pool that reloads has come, by its state.
double reload_progress(const std::string& state, bool reloading, double seconds) {
    double creep = std::min(0.25, seconds / 60.0);  // a slow engine start still moves the bar
    if (state == "provisioning") return 0.2 + creep / 2;
    if (state == "starting") return 0.45 + creep;
    if (state == "ready" && reloading) return 0.5 + creep;
    if (state == "ready") return 0.95;
    return 0.05 + creep / 4;
}

asio::awaitable<int> reload(asio::io_context& io, reload_args a) {
    http::client c(io);
    auto status_url = a.url + "/v2/pools/" + path_segment(a.pool) + "/status";
    if (a.model.empty()) {
        auto st = co_await call_json(c, "GET", status_url);
        if (!st) co_return 1;
        a.model = str(st->as_object(), "model", "");
        if (a.model.empty()) {
            std::cerr << "llorch: pool " << a.pool << " reports no model; give one with --model\n";
            co_return 1;
        }
    }
    // The reload answers once the pool is ready again (or failed); meanwhile its status is
    // polled for the progress bar.
    struct outcome {
        bool done = false;
        std::optional<json::value> answer;
    };
    auto out = std::make_shared<outcome>();
    asio::steady_timer tick(io);
    asio::co_spawn(
        io,
        [](http::client& client, std::string url, std::string body, std::shared_ptr<outcome> result)
            -> asio::awaitable<void> {
            result->answer = co_await call_json(client, "POST", url, body);
            result->done = true;
        }(c, a.url + "/v2/pools/" + path_segment(a.pool) + "/reload",
            json::serialize(json::object{{"new_model_ref", a.model}}), out),
        [&tick](std::exception_ptr) { tick.cancel(); });
    progress_bar bar(std::cerr, "reload " + a.pool, !a.json);
    auto t0 = std::chrono::steady_clock::now();
    std::string state = "requested";
    while (!out->done) {
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        http::client_request r;
        r.url = status_url;
        r.timeout = 5s;
        add_auth(r);
        auto st = co_await c.send(r);
        bool reloading = false;
        if (st && st->status == 200) {
            boost::system::error_code ec;
            auto v = json::parse(st->body, ec);
            if (!ec && v.is_object()) {
                state = str(v.as_object(), "state", state);
                auto* rl = v.as_object().if_contains("reloading");
                reloading = rl && rl->is_bool() && rl->get_bool();
            }
        }
        if (out->done) break;
        bar.show(reload_progress(state, reloading, secs),
                 state + (reloading ? " (new engines starting)" : ""), secs);
        tick.expires_after(250ms);
        boost::system::error_code ec;
        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!out->answer) {
        bar.finish(false, "failed", secs);
        co_return 1;
    }
    const auto& o = out->answer->as_object();
    bar.finish(str(o, "state", "") == "ready", str(o, "state"), secs);
    if (a.json)
        std::cout << json::serialize(*out->answer) << "\n";
    else
        std::cout << "pool " << str(o, "id", a.pool) << ": " << str(o, "state") << " on "
                  << str(o, "model") << "\n";
    co_return str(o, "state", "") == "ready" ? 0 : 1;
}

}  // namespace

void add_operator_commands(CLI::App& app) {
    {
        auto url = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        auto* sub = app.add_subcommand(
            "nodes", "List the cluster's nodes: state, address, pools, last heartbeat (CLOUD)");
        add_url_option(sub, *url);
        add_json_option(sub, *as_json);
        sub->callback([url, as_json] {
            asio::io_context io;
            std::exit(run(io, nodes(io, *url, *as_json)));
        });
    }
    {
        auto url = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        auto* sub = app.add_subcommand(
            "pools", "List the pools: state, model, engine, device, busy slots, VRAM, last error");
        add_url_option(sub, *url);
        add_json_option(sub, *as_json);
        sub->callback([url, as_json] {
            asio::io_context io;
            std::exit(run(io, pools(io, *url, *as_json)));
        });
    }
    {
        auto url = std::make_shared<std::string>();
        auto id = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        auto* sub = app.add_subcommand(
            "tail",
            "Follow a task's events: its tokens on stdout, started/end/error on stderr (exit 1 "
            "when the task fails); from the start, also after the task ended (while retained)");
        sub->add_option("task_id", *id, "the task's id (POST /v2/tasks answered it)")->required();
        add_url_option(sub, *url);
        sub->add_flag("--json", *as_json, "print every event as one JSON line {event, data}");
        sub->callback([url, id, as_json] {
            asio::io_context io;
            std::exit(run(io, tail(io, *url, *id, *as_json)));
        });
    }
    {
        auto a = std::make_shared<drain_args>();
        auto* sub = app.add_subcommand(
            "drain",
            "Drain a pool (no new tasks; running ones finish up to the deadline, then its engines "
            "stop) or a node (out of placement, and each of its pools drained)");
        auto* p = sub->add_option("--pool", a->pool, "the pool (pool_id, or node_id/pool_id)");
        auto* n = sub->add_option("--node", a->node, "the node (CLOUD)");
        p->excludes(n);
        n->excludes(p);
        sub->add_option("--deadline-ms", a->deadline_ms,
                        "how long running tasks may finish (0 to 86400000)")
            ->check(CLI::Range(0LL, 86'400'000LL))
            ->capture_default_str();
        add_url_option(sub, a->url);
        add_json_option(sub, a->json);
        sub->callback([a, sub] {
            if (a->pool.empty() && a->node.empty()) throw CLI::RequiredError("--pool or --node");
            (void)sub;
            asio::io_context io;
            std::exit(run(io, drain(io, *a)));
        });
    }
    {
        auto a = std::make_shared<reload_args>();
        auto* sub = app.add_subcommand(
            "reload",
            "Reload a pool: new engines on the model (default: the pool's own), the old ones "
            "serving until they are ready; also restarts a drained or failed pool. Shows a "
            "progress bar until the pool is ready again; exit 1 when it is not");
        sub->add_option("pool", a->pool, "the pool (pool_id, or node_id/pool_id)")->required();
        sub->add_option("--model", a->model, "model to load: a GGUF path (default: the pool's)");
        add_url_option(sub, a->url);
        add_json_option(sub, a->json);
        sub->callback([a] {
            asio::io_context io;
            std::exit(run(io, reload(io, *a)));
        });
    }
}

}  // namespace llorch::cli
