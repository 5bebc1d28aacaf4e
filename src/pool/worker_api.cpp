#include "pool/worker_api.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "engines/embeddings.h"
#include "http/sse.h"
#include "pool/local_pool_admin.h"
#include "pool/pool_routes.h"

namespace llorch::pool {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

// Streams one generation as SSE: started, token*, then end or error. The engine is read only as
// fast as the client takes the frames, so a slow client holds no growing buffer here.
class infer_sse final : public http::body_stream {
  public:
    infer_sse(std::unique_ptr<infer_stream> s, std::string task_id, int attempt,
              std::string node_id)
        : s_(std::move(s)),
          task_id_(std::move(task_id)),
          attempt_(attempt),
          node_id_(std::move(node_id)) {}

    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        if (done_) co_return std::nullopt;
        std::string out;
        if (!started_) {
            started_ = true;
            json::object o{{"task_id", task_id_},
                           {"attempt", attempt_},
                           {"pool_id", s_->pool_id()},
                           {"model", s_->model_name()},
                           {"node_id", node_id_}};
            http::append_sse(out, "started", json::serialize(o));
            co_return out;
        }
        auto ev = co_await s_->next();
        if (!ev) {
            done_ = true;
            co_return std::nullopt;
        }
        switch (ev->type) {
            case engines::engine_event::kind::token: {
                std::string d = "{\"t\":\"";
                api::append_json_escaped(d, ev->text);
                d += "\",\"i\":" + std::to_string(i_) + ",\"attempt\":" + std::to_string(attempt_) +
                     "}";
                http::append_sse(out, "token", d, i_);
                ++i_;
                break;
            }
            case engines::engine_event::kind::tool_call: {
                auto d = engines::tool_call_json(*ev, i_);
                d.insert(d.size() - 1, ",\"attempt\":" + std::to_string(attempt_));
                http::append_sse(out, "tool_call", d, i_);
                ++i_;
                break;
            }
            case engines::engine_event::kind::embedding: {
                auto d = engines::embedding_json(*ev, i_);
                d.insert(d.size() - 1, ",\"attempt\":" + std::to_string(attempt_));
                http::append_sse(out, "embedding", d, i_);
                ++i_;
                break;
            }
            case engines::engine_event::kind::end: {
                json::object o{{"tokens_out", ev->tokens_out >= 0 ? ev->tokens_out : i_},
                               {"decode_ms", ev->decode_ms},
                               {"finish_reason", ev->finish_reason},
                               {"task_id", task_id_},
                               {"attempt", attempt_}};
                if (ev->tokens_in >= 0) o["tokens_in"] = ev->tokens_in;
                http::append_sse(out, "end", json::serialize(o));
                done_ = true;
                break;
            }
            case engines::engine_event::kind::error: {
                auto code =
                    ev->finish_reason.empty() ? std::string("UPSTREAM_FAILED") : ev->finish_reason;
                json::object o{{"code", code},         {"message", ev->message},
                               {"engine", "llamacpp"}, {"retriable", code != "INVALID_PARAMS"},
                               {"task_id", task_id_},  {"attempt", attempt_}};
                http::append_sse(out, "error", json::serialize(o));
                done_ = true;
                break;
            }
        }
        co_return out;
    }

    void on_disconnect() override { s_->cancel(); }

  private:
    std::unique_ptr<infer_stream> s_;
    std::string task_id_;
    int attempt_;
    std::string node_id_;
    bool started_ = false;
    bool done_ = false;
    long long i_ = 0;
};

}  // namespace

void add_worker_routes(http::router& routes, pool_manager& m,
                       const common::metrics_registry& metrics, worker_api_options opts) {
    auto* mp = &m;
    routes.add("GET", "/health",
               [mp, opts](request) -> asio::awaitable<response> {
                   json::object o{{"status", "ok"},
                                  {"node_id", opts.node_id},
                                  {"version", opts.version},
                                  {"pools", mp->list().size()}};
                   co_return response::json(200, json::serialize(o));
               },
               {.public_route = true});
    routes.add("GET", "/ready", [mp](request q) -> asio::awaitable<response> {
        json::array not_ready;
        for (const auto& s : mp->list())
            if (s.state != pool_state::ready) not_ready.push_back(json::value(s.id));
        json::object o{{"ready", not_ready.empty()}, {"pools_not_ready", not_ready}};
        (void)q;
        co_return response::json(not_ready.empty() ? 200 : 503, json::serialize(o));
    });
    routes.add("GET", "/metrics",
               [reg = &metrics](request) -> asio::awaitable<response> {
                   co_return response::text(200, reg->render(), "text/plain; version=0.0.4");
               },
               {.public_route = true});
    add_pool_routes(routes, std::make_shared<local_pool_admin>(m), opts.files);
    // On-demand models (docs/models.md): load answers 202 while loading, 200 when loaded.
    routes.add("POST", "/v2/models/{name}/load", [mp](request q) -> asio::awaitable<response> {
        // {"keep_alive_ms": N} (optional): the model's idle TTL until it unloads.
        std::optional<std::chrono::milliseconds> keep_alive;
        if (!q.body.empty()) {
            auto body = api::parse_json_body(q.body);
            if (!body) co_return error_reply(body.error(), q);
            if (auto* k = body->if_contains("keep_alive_ms"); k && !k->is_null()) {
                if (!k->is_int64())
                    co_return error_reply(
                        api::make_error(api::error_code::invalid_params,
                                        "keep_alive_ms: must be an integer (ms; negative: keep "
                                        "the model loaded)"),
                        q);
                keep_alive = std::chrono::milliseconds(std::max<int64_t>(-1, k->get_int64()));
            }
        }
        auto a = mp->ensure_loaded(q.params[0], keep_alive);
        if (!a)
            co_return error_reply(
                api::make_error(api::error_code::not_found,
                                "no on-demand model '" + q.params[0] + "' on this node"),
                q);
        json::object o{{"model", q.params[0]}, {"pool_id", a->pool_id}, {"loading", a->loading}};
        co_return response::json(a->loading ? 202 : 200, json::serialize(o));
    });
    routes.add("POST", "/v2/models/{name}/unload", [mp](request q) -> asio::awaitable<response> {
        auto r = mp->unload(q.params[0]);
        if (!r) co_return error_reply(r.error(), q);
        json::array pools;
        for (const auto& s : *r) pools.push_back(json::value(s.id));
        co_return response::json(202, json::serialize(json::object{{"model", q.params[0]},
                                                                   {"pools", std::move(pools)}}));
    });
    routes.add("POST", "/v2/pools/{id}/infer", [mp, opts](request q) -> asio::awaitable<response> {
        auto body = api::parse_json_body(q.body);
        if (!body) co_return error_reply(body.error(), q);
        auto g = engines::parse_generation(*body);
        if (!g) co_return error_reply(g.error(), q);
        auto task_id = g->task_id;
        int attempt = g->attempt;
        auto s = mp->begin_infer(q.params[0], std::move(*g));
        if (!s) co_return error_reply(s.error(), q);
        response res;
        res.content_type = "text/event-stream";
        res.stream = std::make_shared<infer_sse>(std::move(*s), task_id, attempt, opts.node_id);
        co_return res;
    });
}

}  // namespace llorch::pool
