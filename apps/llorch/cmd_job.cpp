// `llorch job run FILE`: submits a job (a JSON file, the body of POST /v2/jobs), shows each
// task's progress as it happens and prints the outputs at the end. `llorch job cancel ID`.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "client_support.h"
#include "commands.h"
#include "http/client.h"
#include "http/sse.h"

namespace llorch::cli {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string field(const json::object& o, const char* k) {
    auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

struct job_args {
    std::string url, file;
    bool quiet = false;
};

asio::awaitable<int> run_job(asio::io_context& io, job_args a) {
    std::string text;
    if (a.file == "-") {
        std::stringstream ss;
        ss << std::cin.rdbuf();
        text = ss.str();
    } else {
        std::ifstream in(a.file);
        if (!in) {
            std::cerr << "llorch: cannot read " << a.file << "\n";
            co_return 2;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    boost::system::error_code ec;
    auto parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        std::cerr << "llorch: " << a.file << " is not a JSON object (" << ec.message()
                  << "); see docs/jobs.md for the job format\n";
        co_return 2;
    }
    http::client c(io);
    http::client_request r;
    r.method = "POST";
    r.url = a.url + "/v2/jobs";
    r.body = text;
    add_auth(r);
    auto res = co_await c.send(r);
    if (!res) {
        std::cerr << "llorch: cannot reach llama-orch at " << a.url << ": " << res.error().message
                  << "\n";
        co_return 1;
    }
    if (res->status != 202 && res->status != 200) {
        std::cerr << "llorch: " << describe_error(res->body, res->status) << "\n";
        co_return 1;
    }
    auto sub = json::parse(res->body).as_object();
    std::string id = field(sub, "job_id");
    std::cerr << "[job " << id << ": " << sub.at("tasks").to_number<long long>() << " tasks]\n";

    auto st = co_await event_stream::open(c, a.url + field(sub, "events_url"), 3600s);
    if (!st) co_return 1;
    std::string final_state;
    auto t0 = std::chrono::steady_clock::now();
    auto at = [&] {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
        char buf[32];
        std::snprintf(buf, sizeof buf, "%7.1fs", static_cast<double>(ms) / 1000.0);
        return std::string(buf);
    };
    while (final_state.empty()) {
        auto b = co_await st->next();
        if (b.broken) co_return 1;
        if (b.ended) break;
        for (const auto& e : b.events) {
            auto pv = json::parse(e.data, ec);
            if (ec || !pv.is_object()) continue;
            const auto& v = pv.as_object();
            auto task = field(v, "task");
            if (e.event == "task_started") {
                auto node = field(v, "node_id");
                std::cerr << at() << "  " << task << ": started on pool "
                          << (node.empty() ? "" : node + "/") << field(v, "pool_id") << "\n";
            } else if (e.event == "task_ended") {
                std::cerr << at() << "  " << task << ": " << field(v, "state");
                if (auto* n = v.if_contains("tokens_out"))
                    std::cerr << " (" << n->to_number<long long>() << " tokens)";
                if (auto cause = field(v, "cause"); !cause.empty()) std::cerr << ": " << cause;
                std::cerr << "\n";
            } else if (e.event == "job_ended") {
                final_state = field(v, "state");
                std::cerr << at() << "  job " << final_state;
                if (auto cause = field(v, "cause"); !cause.empty()) std::cerr << ": " << cause;
                std::cerr << "\n";
            }
        }
    }
    // The outputs, in the job's order.
    http::client_request g;
    g.url = a.url + "/v2/jobs/" + id;
    add_auth(g);
    auto jr = co_await c.send(g);
    if (jr && jr->status == 200 && !a.quiet) {
        auto j = json::parse(jr->body).as_object();
        for (const auto& tv : j.at("tasks").as_array()) {
            const auto& t = tv.as_object();
            std::cout << "=== " << field(t, "id") << " (" << field(t, "state") << ") ===\n"
                      << field(t, "output") << "\n";
        }
    }
    co_return final_state == "completed" ? 0 : 1;
}

asio::awaitable<int> cancel_job(asio::io_context& io, std::string url, std::string id) {
    http::client c(io);
    http::client_request r;
    r.method = "POST";
    r.url = url + "/v2/jobs/" + id + "/cancel";
    add_auth(r);
    auto res = co_await c.send(r);
    if (!res) {
        std::cerr << "llorch: cannot reach llama-orch at " << url << ": " << res.error().message
                  << "\n";
        co_return 1;
    }
    if (res->status != 204) {
        std::cerr << "llorch: " << describe_error(res->body, res->status) << "\n";
        co_return 1;
    }
    co_return 0;
}

}  // namespace

void add_job_commands(CLI::App& app) {
    auto* job = app.add_subcommand("job", "Run jobs: tasks with dependencies (docs/jobs.md)");
    job->require_subcommand(1);
    auto a = std::make_shared<job_args>();
    a->url = default_url();
    auto* run = job->add_subcommand(
        "run", "Submit a job (a JSON file, '-' for stdin), follow each task, print the outputs");
    run->add_option("file", a->file, "the job: the JSON body of POST /v2/jobs")->required();
    run->add_option("--url", a->url, "orchestratord's URL (env LLORCH_URL)")->capture_default_str();
    run->add_flag("--quiet,-q", a->quiet, "progress only, no outputs");
    run->callback([a] {
        asio::io_context io;
        std::exit(cli::run(io, run_job(io, *a)));
    });
    auto id = std::make_shared<std::string>();
    auto url = std::make_shared<std::string>(default_url());
    auto* cancel = job->add_subcommand("cancel", "Cancel a job's running and pending tasks");
    cancel->add_option("job_id", *id, "the job")->required();
    cancel->add_option("--url", *url, "orchestratord's URL (env LLORCH_URL)")
        ->capture_default_str();
    cancel->callback([id, url] {
        asio::io_context io;
        std::exit(cli::run(io, cancel_job(io, *url, *id)));
    });
}

}  // namespace llorch::cli
