// `llorch submit` and `llorch status`: a user's and an operator's view of a running llama-orch.
#include <cstdlib>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "client_support.h"
#include "commands.h"
#include "http/client.h"
#include "http/listen.h"
#include "http/sse.h"

namespace llorch::cli {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct submit_args {
    std::string url, model = "tiny", prompt, priority = "interactive";
    int max_tokens = 0;
    double temperature = -1;
    long long seed = -1;
};

asio::awaitable<int> submit(asio::io_context& io, submit_args a) {
    http::client c(io);
    json::object body{{"model", a.model}, {"prompt", a.prompt}, {"priority", a.priority}};
    if (a.max_tokens > 0) body["max_tokens"] = a.max_tokens;
    if (a.temperature >= 0) body["temperature"] = a.temperature;
    if (a.seed >= 0) body["seed"] = a.seed;
    http::client_request r;
    r.method = "POST";
    r.url = a.url + "/v2/tasks";
    r.body = json::serialize(body);
    add_auth(r);
    auto res = co_await c.send(r);
    if (!res) {
        std::cerr << "llorch: cannot reach llama-orch at " << a.url << ": " << res.error().message
                  << "\n  is orchestratord running? (`make run` starts one; --url or LLORCH_URL "
                     "point elsewhere)\n";
        co_return 1;
    }
    if (res->status != 202 && res->status != 200) {
        std::cerr << "llorch: " << describe_error(res->body, res->status) << "\n";
        co_return 1;
    }
    auto task = json::parse(res->body).as_object();
    std::string id(task.at("task_id").as_string());
    auto st = co_await event_stream::open(c, a.url + std::string(task.at("events_url").as_string()),
                                          600s);
    if (!st) co_return 1;
    auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        auto b = co_await st->next();
        if (b.broken) co_return 1;
        if (b.ended) break;
        for (const auto& e : b.events) {
            auto v = json::parse(e.data).as_object();
            if (e.event == "token") {
                std::cout << v.at("t").as_string().c_str() << std::flush;
            } else if (e.event == "started") {
                std::string node = v.contains("node_id") && v.at("node_id").is_string()
                                       ? std::string(v.at("node_id").as_string())
                                       : std::string();
                std::cerr << "[task " << id << " on pool " << (node.empty() ? "" : node + "/")
                          << v.at("pool_id").as_string().c_str() << "]\n";
            } else if (e.event == "end") {
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
                std::cout << "\n";
                std::cerr << "[done: " << v.at("tokens_out").to_number<long long>() << " tokens, "
                          << v.at("finish_reason").as_string().c_str() << ", " << ms << " ms]\n";
                co_return 0;
            } else if (e.event == "error") {
                std::cout << "\n";
                std::cerr << "llorch: task " << id
                          << " failed: " << v.at("code").as_string().c_str() << ": "
                          << v.at("message").as_string().c_str() << "\n";
                co_return 1;
            }
        }
    }
    co_return 0;
}

asio::awaitable<int> status(asio::io_context& io, std::string url) {
    http::client c(io);
    http::client_request r;
    r.url = url + "/v2/pools";
    add_auth(r);
    auto res = co_await c.send(r);
    if (!res) {
        std::cerr << "llorch: cannot reach llama-orch at " << url << ": " << res.error().message
                  << "\n";
        co_return 1;
    }
    if (res->status != 200) {
        std::cerr << "llorch: " << describe_error(res->body, res->status) << "\n";
        co_return 1;
    }
    auto pools = json::parse(res->body).at("pools").as_array();
    std::printf("%-16s %-12s %-10s %-10s %-8s %-8s %s\n", "POOL", "MODEL", "STATE", "ENGINE",
                "DEVICE", "SLOTS", "LAST ERROR");
    for (const auto& pv : pools) {
        const auto& p = pv.as_object();
        auto s = [&](const char* k) {
            auto* v = p.if_contains(k);
            return v && v->is_string() ? std::string(v->get_string()) : std::string("-");
        };
        auto slots = std::to_string(p.at("slots_free").to_number<long long>()) + "/" +
                     std::to_string(p.at("slots_total").to_number<long long>());
        std::printf("%-16s %-12s %-10s %-10s %-8s %-8s %s\n", s("id").c_str(), s("name").c_str(),
                    s("state").c_str(), s("engine").c_str(), s("device").c_str(), slots.c_str(),
                    s("last_error").c_str());
    }
    http::client_request m;
    m.url = url + "/metrics";
    auto mr = co_await c.send(m);
    if (mr && mr->status == 200) {
        for (const char* name : {"queue_depth ", "tasks_running "}) {
            auto pos = mr->body.find(std::string("\n") + name);
            if (pos == std::string::npos) continue;
            auto end = mr->body.find('\n', pos + 1);
            auto v =
                mr->body.substr(pos + 1 + std::strlen(name), end - pos - 1 - std::strlen(name));
            std::printf("%s%lld\n", name, static_cast<long long>(std::stod(v)));
        }
    }
    co_return 0;
}

}  // namespace

void add_client_commands(CLI::App& app) {
    auto a = std::make_shared<submit_args>();
    a->url = default_url();
    auto* sub =
        app.add_subcommand("submit", "Submit a prompt and stream the tokens to the terminal");
    sub->add_option("prompt", a->prompt, "the prompt")->required();
    sub->add_option("--model,-m", a->model, "model name (GET /v2/pools lists them)")
        ->capture_default_str();
    sub->add_option("--max-tokens,-n", a->max_tokens, "tokens to generate (default: the pool's)");
    sub->add_option("--priority", a->priority, "interactive or batch")
        ->check(CLI::IsMember({"interactive", "batch"}))
        ->capture_default_str();
    sub->add_option("--temperature", a->temperature, "sampling temperature (0: greedy)");
    sub->add_option("--seed", a->seed, "sampling seed");
    sub->add_option("--url", a->url, "orchestratord's URL (env LLORCH_URL)")->capture_default_str();
    sub->callback([a] {
        asio::io_context io;
        std::exit(run(io, submit(io, *a)));
    });

    auto url = std::make_shared<std::string>(default_url());
    auto* st = app.add_subcommand("status", "Show the pools and the queue of a running llama-orch");
    st->add_option("--url", *url, "orchestratord's URL (env LLORCH_URL)")->capture_default_str();
    st->callback([url] {
        asio::io_context io;
        std::exit(run(io, status(io, *url)));
    });
}

}  // namespace llorch::cli
