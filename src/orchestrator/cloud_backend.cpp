#include "orchestrator/cloud_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/log.h"
#include "engines/embeddings.h"
#include "engines/stream_failure.h"
#include "http/client.h"
#include "http/sse.h"
#include "orchestrator/cloud_loads.h"
#include "pool/request_limits.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
std::shared_ptr<spdlog::logger> cloud_log() {
    static auto l = common::logger("cloud");
    return l;
}

api::error node_error(api::error_code c, std::string m, bool retriable) {
    auto e = api::make_error(c, std::move(m));
    e.retriable = retriable;
    return e;
}

}  // namespace

// A generation relayed from a node's SSE stream. Events of another attempt (a replaced stream
// of the same task) are dropped, so a node coming back can never duplicate tokens. Listed in
// its backend while it lives, so that a node going offline ends it.
class remote_stream final : public pool::infer_stream {
  public:
    remote_stream(cloud_backend& b, std::unique_ptr<http::response_stream> s, std::string node_id,
                  std::string pool_id, std::string model, int attempt,
                  std::chrono::milliseconds stall)
        : b_(b),
          s_(std::move(s)),
          node_id_(std::move(node_id)),
          pool_id_(std::move(pool_id)),
          model_(std::move(model)),
          attempt_(attempt),
          stall_(stall) {
        b_.streams_.emplace(node_id_, this);
    }
    ~remote_stream() override {
        // After the node's `end` the rest of the body is the last chunk: read it so that the
        // connection to the node is reused. Otherwise closing it tells the node to stop.
        if (ended_ && !cancelled_ && lost_.empty())
            http::response_stream::finish_in_background(std::move(s_), std::chrono::seconds(1));
        auto [first, last] = b_.streams_.equal_range(node_id_);
        for (auto it = first; it != last; ++it) {
            if (it->second == this) {
                b_.streams_.erase(it);
                break;
            }
        }
    }

    // The node went offline: the stream ends with an error at the next read.
    void abort_by_node(const std::string& why) {
        if (!lost_.empty() || cancelled_ || done_) return;
        lost_ = why;
        s_->abort();
    }

    boost::asio::awaitable<std::optional<engines::engine_event>> next() override {
        for (;;) {
            if (!pending_.empty()) {
                auto ev = std::move(pending_.front());
                pending_.erase(pending_.begin());
                if (engines::is_terminal(ev)) {
                    done_ = true;
                    ended_ = ev.type == engines::engine_event::kind::end;
                }
                co_return ev;
            }
            if (done_ || cancelled_) co_return std::nullopt;
            auto piece = co_await s_->read_some(stall_);
            if (cancelled_) co_return std::nullopt;
            if (!piece) {
                if (!lost_.empty()) {
                    pending_.push_back(engines::worker_reset_event("node " + node_id_ +
                                                                   " went offline: " + lost_));
                } else {
                    auto ev =
                        engines::stream_failure_event(piece.error(), "node " + node_id_, stall_);
                    if (engines::classify_stream_failure(piece.error()) ==
                        engines::stream_failure::worker_reset)
                        b_.node_unreachable(node_id_, ev.message);
                    pending_.push_back(std::move(ev));
                }
                continue;
            }
            if (piece->empty()) {
                pending_.push_back(engines::worker_reset_event(
                    "node " + node_id_ + " ended the stream without finishing"));
                continue;
            }
            events_.clear();
            parser_.feed(*piece, events_);
            for (const auto& e : events_) decode(e);
        }
    }

    void cancel() override {
        cancelled_ = true;
        s_->abort();
    }
    const std::string& pool_id() const override { return pool_id_; }
    const std::string& model_name() const override { return model_; }

  private:
    void decode(const http::sse_event& e) {
        boost::system::error_code ec;
        auto v = json::parse(e.data, ec);
        if (ec || !v.is_object()) return;
        const auto& o = v.get_object();
        if (auto* a = o.if_contains("attempt"); a && a->is_int64() && a->get_int64() != attempt_)
            return;
        engines::engine_event ev;
        if (e.event == "token") {
            auto* t = o.if_contains("t");
            if (!t || !t->is_string() || t->get_string().empty()) return;
            ev.text = t->get_string();
        } else if (e.event == "tool_call") {
            auto tc = engines::tool_call_of(e.data);
            if (!tc) return;
            ev = std::move(*tc);
        } else if (e.event == "embedding") {
            auto em = engines::embedding_of(e.data);
            if (!em) return;
            ev = std::move(*em);
        } else if (e.event == "end") {
            ev.type = engines::engine_event::kind::end;
            if (auto* n = o.if_contains("tokens_out"); n && n->is_int64())
                ev.tokens_out = static_cast<int>(n->get_int64());
            if (auto* n = o.if_contains("tokens_in"); n && n->is_int64())
                ev.tokens_in = static_cast<int>(n->get_int64());
            if (auto* d = o.if_contains("decode_ms"); d && d->is_int64())
                ev.decode_ms = d->get_int64();
            if (auto* f = o.if_contains("finish_reason"); f && f->is_string())
                ev.finish_reason = f->get_string();
        } else if (e.event == "error") {
            ev.type = engines::engine_event::kind::error;
            if (auto* c = o.if_contains("code"); c && c->is_string())
                ev.finish_reason = c->get_string();
            if (auto* m = o.if_contains("message"); m && m->is_string())
                ev.message = m->get_string();
        } else {
            return;  // started, metrics: the control plane writes its own
        }
        pending_.push_back(std::move(ev));
    }

    cloud_backend& b_;
    std::unique_ptr<http::response_stream> s_;
    std::string node_id_, pool_id_, model_;
    int attempt_;
    std::chrono::milliseconds stall_;
    http::sse_parser parser_;
    std::vector<http::sse_event> events_;
    std::vector<engines::engine_event> pending_;
    std::string lost_;  // why the node was declared offline under this stream
    bool done_ = false;
    bool ended_ = false;  // the terminal event was the node's `end`
    bool cancelled_ = false;
};

// A request to a node that waits for the response head. The client's open runs in a coroutine
// of its own and reports here; whichever comes first, its result or node_offline, wakes the
// waiting cloud_backend::open.
struct pending_open {
    explicit pending_open(boost::asio::io_context& io)
        : wake(io, std::chrono::steady_clock::time_point::max()) {}
    boost::asio::steady_timer wake;
    std::optional<http::client_result<std::unique_ptr<http::response_stream>>> result;
    std::string aborted;  // why node_offline ended the wait; empty: it did not
};

namespace {
boost::asio::awaitable<void> run_open(http::client* c, http::client_request r,
                                      std::shared_ptr<pending_open> p) {
    auto res = co_await c->open(std::move(r));
    if (!p->aborted.empty()) co_return;  // nobody waits: a stream it opened closes here
    p->result.emplace(std::move(res));
    p->wake.cancel();
}
}  // namespace

cloud_backend::cloud_backend(boost::asio::io_context& io, cloud_options opts,
                             registry::node_registry& reg, placement::placement_index& index)
    : cloud_backend(io, std::move(opts), reg, index, common::real_clock::instance()) {}

cloud_backend::cloud_backend(boost::asio::io_context& io, cloud_options opts,
                             registry::node_registry& reg, placement::placement_index& index,
                             common::clock& clock)
    : io_(io),
      clock_(clock),
      opts_(std::move(opts)),
      reg_(reg),
      index_(index),
      background_(io.get_executor()),
      loads_(std::make_unique<cloud_loads>(*this, index, io.get_executor())) {
    http::client_options co;
    co.connect_timeout = opts_.connect_timeout;
    co.tls = opts_.tls;
    client_ = std::make_unique<http::client>(io, co);
}

cloud_backend::~cloud_backend() = default;

dispatch::circuit_breaker& cloud_backend::breaker(const std::string& node_id) {
    auto it = breakers_.find(node_id);
    if (it == breakers_.end()) {
        it = breakers_
                 .emplace(node_id, std::make_unique<dispatch::circuit_breaker>(
                                       opts_.breaker, [this] { return clock_.now(); }))
                 .first;
    }
    return *it->second;
}

void cloud_backend::breaker_result(const std::string& node_id, bool ok) {
    auto& b = breaker(node_id);
    auto t = ok ? b.record_success() : b.record_failure();
    if (!ok && node_probe_) node_probe_(node_id, false);
    if (t == dispatch::breaker_transition::opened) {
        cloud_log()->warn("node_id={} circuit breaker opened; out of placement for {} ms", node_id,
                          opts_.breaker.cool_down.count());
        index_.set_node_breaker_open(node_id, true);
        // After the cool-down the node may take one trial request (half-open).
        background_.spawn(readmit_at(node_id, *b.half_open_at()), "breaker cool-down");
    } else if (t == dispatch::breaker_transition::closed) {
        cloud_log()->info("node_id={} circuit breaker closed", node_id);
        index_.set_node_breaker_open(node_id, false);
    }
}

boost::asio::awaitable<void> cloud_backend::readmit_at(std::string node_id,
                                                       std::chrono::steady_clock::time_point at) {
    boost::asio::steady_timer timer(io_);
    co_await clock_.wait_until(timer, at);
    if (breaker(node_id).state() == dispatch::breaker_state::half_open)
        index_.set_node_breaker_open(node_id, false);
}

boost::asio::awaitable<void> cloud_backend::stop() {
    co_await loads_->stop();
    co_await background_.stop();
}

std::optional<std::string> cloud_backend::ensure_loaded(
    const std::string& model, std::optional<std::chrono::milliseconds> keep_alive,
    const model_demand& demand) {
    return loads_->ensure_loaded(model, keep_alive, demand);
}

void cloud_backend::want(const std::string& model) { loads_->want(model); }

void cloud_backend::revive(const std::string& model) { loads_->revive(model); }

std::string cloud_backend::load_failure(const std::string& model) const {
    return loads_->load_failure(model);
}

api::api_result<void> cloud_backend::unload(const std::string& model) {
    return loads_->unload(model);
}

bool cloud_backend::admit(const placement::placement_decision& where) {
    const auto& node = where.node_id;
    auto& b = breaker(node);
    bool trial = b.state() == dispatch::breaker_state::half_open;
    if (!b.allow_request()) {
        // The trial is out: nothing more for this node until its outcome (or its give-up).
        index_.set_node_breaker_open(node, true);
        return false;
    }
    if (trial) {
        cloud_log()->info("node_id={} circuit breaker half-open: one trial request", node);
        index_.set_node_breaker_open(node, true);
        background_.spawn(readmit_at(node, clock_.now() + opts_.breaker.cool_down),
                          "breaker trial give-up");
    }
    return true;
}

void cloud_backend::node_unreachable(const std::string& node_id, const std::string& why) {
    if (reg_.mark_offline(node_id)) cloud_log()->warn("node_id={} offline: {}", node_id, why);
    if (node_probe_) node_probe_(node_id, false);
    if (auto* n = reg_.find(node_id)) {
        if (auto u = http::parse_url(n->address)) client_->drop_idle(u->host, u->port);
    }
}

void cloud_backend::node_offline(const std::string& node_id, const std::string& why) {
    if (node_probe_) node_probe_(node_id, false);
    auto [first_open, last_open] = opening_.equal_range(node_id);
    for (auto it = first_open; it != last_open; ++it) {
        auto& p = *it->second;
        if (p.result || !p.aborted.empty()) continue;
        p.aborted = why;
        p.wake.cancel();
    }
    std::vector<remote_stream*> hit;
    auto [first, last] = streams_.equal_range(node_id);
    for (auto it = first; it != last; ++it) hit.push_back(it->second);
    for (auto* s : hit) s->abort_by_node(why);
    if (!hit.empty())
        cloud_log()->warn("node_id={} offline: ending its {} streams", node_id, hit.size());
    if (auto* n = reg_.find(node_id)) {
        if (auto u = http::parse_url(n->address)) client_->drop_idle(u->host, u->port);
    }
}

boost::asio::awaitable<api::api_result<std::unique_ptr<pool::infer_stream>>> cloud_backend::open(
    placement::placement_decision where, engines::generation_request g) {
    http::client_request r;
    r.method = "POST";
    r.url = where.node_address + "/v2/pools/" + where.pool_id + "/infer";
    r.body = engines::to_json(g);
    r.timeout = opts_.request_timeout;
    r.headers.add("Accept", "text/event-stream");
    if (!opts_.service_token.empty())
        r.headers.add("Authorization", "Bearer " + opts_.service_token);
    const auto& node = where.node_id;
    auto waiting = std::make_shared<pending_open>(io_);
    auto listed = opening_.emplace(node, waiting);
    boost::asio::co_spawn(io_, run_open(client_.get(), std::move(r), waiting),
                          boost::asio::detached);
    if (!waiting->result && waiting->aborted.empty()) {
        boost::system::error_code ec;
        co_await waiting->wake.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    opening_.erase(listed);
    if (!waiting->result) {
        co_return node_error(
            api::error_code::node_unavailable,
            "node " + node + " went offline before it answered: " + waiting->aborted, true);
    }
    auto s = std::move(*waiting->result);
    if (!s) {
        const auto& e = s.error();
        if (e.code == http::client_errc::timeout) {
            breaker_result(node, false);
            co_return node_error(api::error_code::node_unavailable,
                                 "node " + node + " did not answer in time", true);
        }
        node_unreachable(node, e.message);
        co_return node_error(api::error_code::node_unavailable,
                             "node " + node + " is unreachable: " + e.message, true);
    }
    int status = (*s)->status();
    if (status == 200) {
        breaker_result(node, true);
        std::string model;  // the pool's model name, as the node reported it
        if (const auto* e = index_.find(where.pool); e && !e->state.models.empty())
            model = e->state.models.front();
        co_return std::unique_ptr<pool::infer_stream>(
            std::make_unique<remote_stream>(*this, std::move(*s), node, where.pool_id,
                                            std::move(model), g.attempt, opts_.stall_timeout));
    }
    std::string body;
    for (int i = 0; i < 8; ++i) {
        auto piece = co_await (*s)->read_some(2s);
        if (!piece || piece->empty()) break;
        body += *piece;
    }
    std::string msg = body.substr(0, 300);
    std::optional<api::error_code> code;
    {
        boost::system::error_code ec;
        auto v = json::parse(body, ec);
        if (!ec && v.is_object()) {
            if (auto* c = v.get_object().if_contains("code"); c && c->is_string())
                code = api::error_code_from_string(c->get_string());
            if (auto* m = v.get_object().if_contains("message"); m && m->is_string())
                msg = m->get_string();
        }
    }
    if (status == 503 && code == api::error_code::pool_unavailable) {
        // Backpressure: the pool is full right now. Place elsewhere or wait; no breaker failure.
        co_return node_error(api::error_code::pool_unavailable, msg, true);
    }
    if (status == 401 || status == 403) {
        cloud_log()->error(
            "node_id={} refuses our service token ({}): check LLORCH_SERVICE_TOKEN on "
            "both sides; node out of placement until it registers again",
            node, status);
        reg_.mark_failed(node);
        co_return node_error(api::error_code::node_unavailable,
                             "node " + node + " refused the service token", true);
    }
    if (status >= 500) breaker_result(node, false);
    bool retriable = status >= 500 || status == 404;
    co_return node_error(code.value_or(api::error_code::upstream_failed),
                         "node " + node + " answered " + std::to_string(status) + ": " + msg,
                         retriable);
}

void cloud_backend::set_pool_limits(const std::string& node_id, const std::string& pool_id,
                                    std::vector<std::string> models, model_limits l) {
    limits_[node_id + "/" + pool_id] = {std::move(models), l};
}

void cloud_backend::forget_node(const std::string& node_id) {
    loads_->forget_node(node_id);
    auto prefix = node_id + "/";
    for (auto it = limits_.lower_bound(prefix);
         it != limits_.end() && it->first.starts_with(prefix);)
        it = limits_.erase(it);
}

std::optional<model_limits> cloud_backend::limits(const std::string& model) const {
    std::optional<model_limits> out;
    for (const auto& [key, p] : limits_) {
        if (std::find(p.models.begin(), p.models.end(), model) == p.models.end()) continue;
        pool::fold_limits(out, p.limits);
    }
    return out;
}

boost::asio::awaitable<api::api_result<std::pair<int, std::string>>> cloud_backend::forward(
    std::string node_id, std::string method, std::string path, std::string body) {
    auto* n = reg_.find(node_id);
    if (!n) co_return node_error(api::error_code::not_found, "no node '" + node_id + "'", false);
    http::client_request r;
    r.method = method;
    r.url = n->address + path;
    r.body = std::move(body);
    r.timeout = 300s;  // a reload waits for the new engine to be ready
    if (!opts_.service_token.empty())
        r.headers.add("Authorization", "Bearer " + opts_.service_token);
    auto res = co_await client_->send(std::move(r));
    if (!res)
        co_return node_error(api::error_code::node_unavailable,
                             "node " + node_id + " is unreachable: " + res.error().message, true);
    co_return std::make_pair(res->status, std::move(res->body));
}

}  // namespace llorch::orchestrator
