// `llorch model pull SOURCE` (stage a model onto a node, with a progress bar: bytes, rate, ETA)
// and `llorch model list` (the catalog: every model with its files and pools).

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "client_support.h"
#include "commands.h"
#include "progress_bar.h"

namespace llorch::cli {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

struct pull_args {
    std::string url, source, name, node, sha256;
    bool json = false;
};

// "12.0 MiB / 40.0 MiB  3.1 MiB/s  ETA 9 s" from a job's JSON.
std::string progress_label(const json::object& j) {
    auto bytes = num(j, "bytes", 0), total = num(j, "total", -1),
         rate = num(j, "rate_bytes_per_s", 0);
    auto eta = num(j, "eta_ms", -1);
    std::string label = human_bytes(bytes);
    if (total >= 0) label += " / " + human_bytes(total);
    if (rate > 0) label += "  " + human_bytes(rate) + "/s";
    if (eta >= 0 && str(j, "state", "") == "running")
        label += fmt::format("  ETA {:.0f} s", eta / 1000.0);
    return label;
}

asio::awaitable<int> pull(asio::io_context& io, pull_args a) {
    http::client c(io);
    json::object body{{"source", a.source}};
    if (!a.name.empty()) body["name"] = a.name;
    if (!a.node.empty()) body["node"] = a.node;
    if (!a.sha256.empty()) body["sha256"] = a.sha256;
    auto started =
        co_await call_json(c, "POST", a.url + "/v2/catalog/models", json::serialize(body));
    if (!started || !started->is_object()) co_return 1;
    auto job = started->as_object();
    const auto id = str(job, "job_id", "");
    const auto name = str(job, "name", a.name);
    progress_bar bar(std::cerr, "pull " + name, !a.json);
    auto t0 = std::chrono::steady_clock::now();
    asio::steady_timer tick(io);
    for (;;) {
        auto state = str(job, "state", "");
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (state == "done" || state == "failed") {
            bar.finish(state == "done", state == "done" ? progress_label(job) : "failed", secs);
            break;
        }
        auto total = num(job, "total", -1);
        double fraction = total > 0 ? num(job, "bytes", 0) / total : 0;
        bar.show(fraction, state == "queued" ? std::string("queued") : progress_label(job), secs);
        tick.expires_after(300ms);
        boost::system::error_code ec;
        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto next = co_await call_json(c, "GET", a.url + "/v2/catalog/jobs/" + path_segment(id));
        if (!next || !next->is_object()) co_return 1;
        job = next->as_object();
    }
    if (a.json) std::cout << json::serialize(job) << "\n";
    if (str(job, "state", "") != "done") {
        const auto* e = job.if_contains("error");
        std::string why = e && e->is_object()
                              ? str(e->as_object(), "code") + ": " + str(e->as_object(), "message")
                              : std::string("failed");
        std::cerr << "llorch model pull: " << why << "\n";
        co_return 1;
    }
    if (!a.json) {
        const auto* m = job.if_contains("model");
        std::string path = m && m->is_object() ? str(m->as_object(), "path") : "-";
        std::string sha = m && m->is_object() ? str(m->as_object(), "sha256") : "-";
        std::cout << name << ": " << path << " (sha256 " << sha << ")";
        if (auto node = str(job, "node_id", ""); !node.empty()) std::cout << " on " << node;
        std::cout << "\n";
    }
    co_return 0;
}

asio::awaitable<int> list(asio::io_context& io, std::string url, bool as_json) {
    http::client c(io);
    auto v = co_await call_json(c, "GET", url + "/v2/catalog/models");
    if (!v || !v->is_object()) co_return 1;
    if (as_json) {
        std::cout << json::serialize(*v) << "\n";
        co_return 0;
    }
    std::cout << fmt::format("{:<28} {:>10} {:<8} {:>9} {:<8} {:>7} {:<14} {}\n", "NAME", "SIZE",
                             "QUANT", "PARAMS", "ARCH", "CTX", "SHA256", "POOLS/NODES");
    const auto* models = v->as_object().if_contains("models");
    if (!models || !models->is_array()) co_return 0;
    for (const auto& mv : models->as_array()) {
        if (!mv.is_object()) continue;
        const auto& m = mv.as_object();
        json::object md;
        if (auto* x = m.if_contains("metadata"); x && x->is_object()) md = x->as_object();
        std::string where;
        if (auto* p = m.if_contains("pools"); p && p->is_array())
            for (const auto& x : p->as_array())
                if (x.is_string()) where += (where.empty() ? "" : ",") + std::string(x.as_string());
        if (auto* f = m.if_contains("files"); f && f->is_array())
            for (const auto& x : f->as_array())
                if (x.is_object() && !str(x.as_object(), "node_id", "").empty())
                    where += (where.empty() ? "@" : ",@") + str(x.as_object(), "node_id");
        auto params = num(md, "parameter_count", -1);
        auto sha = str(m, "sha256", "-");
        std::cout << fmt::format(
            "{:<28} {:>10} {:<8} {:>9} {:<8} {:>7} {:<14} {}\n", str(m, "name"),
            human_bytes(num(m, "size_bytes", 0)), str(md, "quantization"),
            params < 0 ? std::string("-") : fmt::format("{:.1f}M", params / 1e6),
            str(md, "architecture"),
            num(md, "context_length", -1) < 0 ? std::string("-")
                                              : fmt::format("{:.0f}", num(md, "context_length", 0)),
            sha.size() > 12 ? sha.substr(0, 12) : sha, where.empty() ? "-" : where);
    }
    co_return 0;
}

}  // namespace

void add_model_catalog_commands(CLI::App& model) {
    {
        auto a = std::make_shared<pull_args>();
        auto* sub = model.add_subcommand(
            "pull",
            "Stage a model onto a node (POST /v2/catalog/models): fetched from file:/path, "
            "http(s):// or hf:ORG/REPO/FILE.gguf, resumed after an interruption, checked "
            "(sha256, GGUF) and added to the catalog. Shows bytes, rate and ETA; exit 1 when the "
            "job fails");
        sub->add_option("source", a->source, "where the model comes from")->required();
        sub->add_option("--name", a->name, "name[:tag] (default: the file's stem)");
        sub->add_option("--node", a->node,
                        "CLOUD: the node to stage onto (default: the first "
                        "online node)");
        sub->add_option("--sha256", a->sha256, "the file's expected SHA-256 (64 hex digits)");
        add_url_option(sub, a->url);
        add_json_option(sub, a->json);
        sub->callback([a] {
            asio::io_context io;
            std::exit(run(io, pull(io, *a)));
        });
    }
    {
        auto url = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        auto* sub = model.add_subcommand(
            "list",
            "List the catalog: every model with its size, quantization, parameters, "
            "architecture, context, sha256 and the pools or nodes that hold it");
        add_url_option(sub, *url);
        add_json_option(sub, *as_json);
        sub->callback([url, as_json] {
            asio::io_context io;
            std::exit(run(io, list(io, *url, *as_json)));
        });
    }
}

}  // namespace llorch::cli
