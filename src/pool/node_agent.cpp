#include "pool/node_agent.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <thread>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/backoff.h"
#include "common/log.h"
#include "http/auth.h"
#include "http/client.h"
#include "pool/catalog_service.h"
#include "pool/node_report.h"

namespace llorch::pool {
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
std::shared_ptr<spdlog::logger> agent_log() {
    static auto l = common::logger("node-agent");
    return l;
}

uint64_t ram_total_bytes() {
    std::ifstream f("/proc/meminfo");
    std::string key;
    uint64_t kb = 0;
    while (f >> key >> kb) {
        if (key == "MemTotal:") return kb * 1024;
        f.ignore(256, '\n');
    }
    return 0;
}

// Why orchestratord refused a call, in words an operator can act on. A 401/403 is a token
// mismatch, so it names the settings on both sides and this node's token by its fingerprint only.
std::string refusal(int status, const std::string& body, const std::string& token) {
    std::string code, message = body.substr(0, 300);
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        if (auto* c = v.get_object().if_contains("code"); c && c->is_string())
            code = c->get_string();
        if (auto* m = v.get_object().if_contains("message"); m && m->is_string())
            message = m->get_string();
    }
    auto out = std::to_string(status) + (code.empty() ? "" : " " + code) + ": " + message;
    if (status != 401 && status != 403) return out;
    out += token.empty() ? "; this node sends no service token"
                         : "; this node sends token:" + http::token_set::fingerprint(token);
    return out +
           ". Set LLORCH_SERVICE_TOKEN (or LLORCH_API_TOKEN) on this node to one of the "
           "tokens in orchestratord's LLORCH_SERVICE_TOKEN";
}
}  // namespace

namespace {
constexpr const char* heartbeats_help = "Heartbeats this node sent, by outcome.";
}

node_agent::node_agent(asio::io_context& io, node_agent_options opts, pool_manager& pools)
    : io_(io),
      opts_(std::move(opts)),
      pools_(pools),
      client_(std::make_unique<http::client>(io, http::client_options{.tls = opts_.tls})),
      timer_(io),
      background_(io.get_executor()) {
    while (!opts_.orchestratord_url.empty() && opts_.orchestratord_url.back() == '/')
        opts_.orchestratord_url.pop_back();
    if (opts_.metrics)  // both outcomes from the start, so that a failure ratio has a base
        for (const char* o : {"ok", "failed"})
            opts_.metrics->counter("node_heartbeats_total", heartbeats_help, {{"outcome", o}});
}

node_agent::~node_agent() = default;

void node_agent::start() {
    pools_.on_capacity_change([this](const std::string&) {
        // Only state changes are news: orchestratord counts slots itself.
        bool changed = false;
        for (const auto& s : pools_.list()) {
            auto it = last_states_.find(s.id);
            if (it == last_states_.end() || it->second != s.state) changed = true;
        }
        if (changed) poke();
    });
    if (opts_.catalog) opts_.catalog->on_change([this] { poke(); });
    background_.spawn(run(), "registration and heartbeats");
}

void node_agent::poke() {
    poked_ = true;
    timer_.cancel();
}

std::vector<reported_pool> node_agent::pool_reports() const {
    std::vector<reported_pool> out;
    for (auto& s : pools_.list()) out.push_back(report_of(std::move(s)));
    return out;
}

asio::awaitable<bool> node_agent::register_once() {
    node_registration_body body;
    body.node_id = opts_.node_id;
    body.machine_id = opts_.machine_id;
    body.address = opts_.address;
    body.version = LLORCH_VERSION;
    body.heartbeat_interval = opts_.heartbeat_interval;
    body.cpu_cores = std::max(1u, std::thread::hardware_concurrency());
    body.ram_total_bytes = ram_total_bytes();
    body.pools = pool_reports();
    body.memory = pools_.memory();
    if (opts_.catalog) {
        body.catalog_version = opts_.catalog->catalog().version();
        body.catalog = opts_.catalog->catalog().entries();
    }
    for (const auto& p : body.pools) {
        for (const auto& g : p.pool.gpus)
            body.gpus.push_back({g.index, g.name, g.memory_total_bytes, g.compute_capability});
        body.models_available.push_back(p.pool.name);
    }
    http::client_request r;
    r.method = "POST";
    r.url = opts_.orchestratord_url + "/v2/nodes/register";
    r.body = json::serialize(to_json(body));
    r.timeout = 5s;
    if (!opts_.service_token.empty())
        r.headers.add("Authorization", "Bearer " + opts_.service_token);
    auto res = co_await client_->send(std::move(r));
    if (!res) {
        agent_log()->warn("cannot register with {}: {}", opts_.orchestratord_url,
                          res.error().message);
        co_return false;
    }
    if (res->status != 200) {
        agent_log()->error("orchestratord refused the registration: {}",
                           refusal(res->status, res->body, opts_.service_token));
        co_return false;
    }
    auth_refused_ = false;
    boost::system::error_code ec;
    auto v = json::parse(res->body, ec);
    if (!ec && v.is_object())
        if (auto* e = v.get_object().if_contains("epoch"); e && e->is_number())
            epoch_ = e->to_number<uint64_t>();
    for (const auto& s : pools_.list()) last_states_[s.id] = s.state;
    catalog_sent_ = body.catalog_version;
    agent_log()->info("node_id={} registered with {} (epoch {})", opts_.node_id,
                      opts_.orchestratord_url, epoch_);
    co_return true;
}

// 0: ok; 404/409: register again; -1: unreachable.
asio::awaitable<int> node_agent::heartbeat_once() {
    node_heartbeat_body body;
    body.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    body.epoch = epoch_;
    body.pools = pool_reports();
    body.memory = pools_.memory();
    for (const auto& p : body.pools) last_states_[p.pool.id] = p.pool.state;
    if (opts_.catalog) {
        body.catalog_version = opts_.catalog->catalog().version();
        if (body.catalog_version != catalog_sent_)
            body.catalog = opts_.catalog->catalog().entries();
    }
    const auto catalog_version = body.catalog_version;
    http::client_request r;
    r.method = "POST";
    r.url = opts_.orchestratord_url + "/v2/nodes/" + opts_.node_id + "/heartbeat";
    r.body = json::serialize(to_json(body));
    r.timeout = 5s;
    if (!opts_.service_token.empty())
        r.headers.add("Authorization", "Bearer " + opts_.service_token);
    const auto sent = std::chrono::steady_clock::now();
    auto res = co_await client_->send(std::move(r));
    count_heartbeat(res && res->status == 200, sent);
    if (!res) {
        agent_log()->warn("heartbeat to {} failed: {}", opts_.orchestratord_url,
                          res.error().message);
        co_return -1;
    }
    if (res->status == 200) {
        auth_refused_ = false;
        catalog_sent_ = catalog_version;
        co_return 0;
    }
    // Once per refusal, not at every beat: the node stays out until the tokens match again.
    if ((res->status == 401 || res->status == 403) && !std::exchange(auth_refused_, true))
        agent_log()->error("orchestratord refused a heartbeat: {}",
                           refusal(res->status, res->body, opts_.service_token));
    co_return res->status;
}

void node_agent::count_heartbeat(bool ok, std::chrono::steady_clock::time_point sent) {
    if (!opts_.metrics) return;
    opts_.metrics
        ->counter("node_heartbeats_total", heartbeats_help, {{"outcome", ok ? "ok" : "failed"}})
        .Increment();
    if (ok)
        opts_.metrics
            ->histogram("node_heartbeat_seconds",
                        "Round trip of a heartbeat answered by orchestratord.",
                        common::default_latency_buckets())
            .Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
}

asio::awaitable<void> node_agent::run() {
    // Jittered, so that the nodes of a cluster do not all reconnect at once when orchestratord
    // comes back.
    const common::backoff reconnect({.base = 200ms, .factor = 2.0, .cap = 5s});
    std::mt19937_64 rng(std::hash<std::string>{}(opts_.node_id) ^ std::random_device{}());
    int failures = 0;
    while (!stopping_) {
        if (epoch_ == 0) {
            if (!co_await register_once()) {
                timer_.expires_after(reconnect.delay(failures, rng));
                failures = std::min(failures + 1, 32);  // the cap is reached long before
                boost::system::error_code ec;
                co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                continue;
            }
            failures = 0;
        }
        if (!poked_) {
            timer_.expires_after(opts_.heartbeat_interval);
            boost::system::error_code ec;
            co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        poked_ = false;
        if (stopping_) break;
        int r = co_await heartbeat_once();
        if (r == 404 || r == 409 || r == 410) {
            agent_log()->info(
                "orchestratord does not know this registration ({}); registering again", r);
            epoch_ = 0;
        }
    }
}

asio::awaitable<void> node_agent::stop() {
    stopping_ = true;
    timer_.cancel();
    // A heartbeat in flight is abandoned: the deregistration below says all there is to say.
    co_await background_.stop();
    if (epoch_ == 0) co_return;
    http::client_request r;
    r.method = "DELETE";
    r.url = opts_.orchestratord_url + "/v2/nodes/" + opts_.node_id;
    r.timeout = 2s;
    if (!opts_.service_token.empty())
        r.headers.add("Authorization", "Bearer " + opts_.service_token);
    auto res = co_await client_->send(std::move(r));
    if (res && res->status == 204) agent_log()->info("node_id={} deregistered", opts_.node_id);
    epoch_ = 0;
}

}  // namespace llorch::pool
