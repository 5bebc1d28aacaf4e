#include "pool/worker_api.h"

#include <boost/json.hpp>

#include "api/error.h"
#include "http/sse.h"
#include "pool/pool_names.h"

#include <filesystem>
#include <map>

namespace llorch::pool {
namespace json = boost::json;
using http::request;
using http::response;

boost::json::object to_json(const pool_snapshot& s) {
    json::object o;
    o["id"] = s.id;
    o["pool_id"] = s.id;
    o["name"] = s.name;
    json::array aliases;
    for (const auto& a : s.aliases) aliases.push_back(json::value(a));
    o["aliases"] = std::move(aliases);
    o["model"] = s.model;
    o["engine"] = s.engine;
    o["device"] = s.device;
    o["state"] = to_string(s.state);
    o["ready"] = s.state == pool_state::ready;
    o["draining"] = s.state == pool_state::draining;
    o["last_error"] = s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error);
    o["restarts"] = s.restarts;
    o["slots_total"] = s.slots_total;
    o["slots_free"] = s.slots_free;
    o["in_flight"] = s.in_flight;
    o["ctx"] = s.ctx;
    o["max_tokens_default"] = s.max_tokens_default;
    o["max_tokens_cap"] = s.max_tokens_cap;
    o["replicas"] = s.replicas;
    json::array pids;
    for (auto p : s.pids) pids.push_back(p);
    o["pids"] = pids;
    o["pid"] = s.pids.empty() ? json::value(nullptr) : json::value(s.pids.front());
    json::array endpoints;
    for (const auto& e : s.endpoints) endpoints.push_back(json::value(e));
    o["endpoints"] = std::move(endpoints);
    o["engine_slots_busy"] =
        s.engine_slots_busy < 0 ? json::value(nullptr) : json::value(s.engine_slots_busy);
    o["adopted"] = s.adopted;
    o["reloading"] = s.reloading;
    o["generation"] = s.generation;
    o["vram_total_bytes"] = s.vram_total_bytes;
    o["vram_free_bytes"] = s.vram_free_bytes;
    json::array gpus;
    for (const auto& g : s.gpus)
        gpus.push_back(json::object{{"index", g.index},
                                    {"uuid", g.uuid},
                                    {"name", g.name},
                                    {"memory_total_bytes", g.memory_total_bytes},
                                    {"memory_free_bytes", g.memory_free_bytes},
                                    {"compute_capability", g.compute_capability}});
    o["gpus"] = std::move(gpus);
    return o;
}

boost::json::object catalog_json(const std::vector<pool_snapshot>& pools,
                                 const std::string& prefix) {
    std::map<std::string, json::object> models;
    for (const auto& p : pools) {
        auto& m = models[p.name];
        if (m.empty()) {
            std::error_code ec;
            auto size = p.model.empty() ? 0 : std::filesystem::file_size(p.model, ec);
            json::array names;
            for (const auto& n : model_names(p)) names.push_back(json::value(n));
            m = json::object{{"name", p.name},     {"names", names},
                             {"path", p.model},    {"size_bytes", ec ? 0 : size},
                             {"engine", p.engine}, {"pools", json::array{}}};
        }
        m["pools"].as_array().push_back(json::value(prefix + p.id));
    }
    json::array out;
    for (auto& [name, m] : models) out.push_back(std::move(m));
    return json::object{{"models", out}};
}

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
            case engines::engine_event::kind::end: {
                json::object o{{"tokens_out", ev->tokens_out >= 0 ? ev->tokens_out : i_},
                               {"decode_ms", ev->decode_ms},
                               {"finish_reason", ev->finish_reason},
                               {"task_id", task_id_},
                               {"attempt", attempt_}};
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

response error_response(const api::error& e, const request& q) {
    return response::from_error(e, q.correlation_id);
}

std::optional<json::object> body_object(const request& q, api::error& err) {
    if (q.body.empty()) return json::object{};
    boost::system::error_code ec;
    auto v = json::parse(q.body, ec);
    if (ec || !v.is_object()) {
        err = api::make_error(
            api::error_code::invalid_params,
            "the request body is not a JSON object" + (ec ? ": " + ec.message() : std::string()));
        return std::nullopt;
    }
    return std::move(v.get_object());
}

}  // namespace

void add_worker_routes(http::router& routes, pool_manager& m, worker_api_options opts) {
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
               [mp](request) -> asio::awaitable<response> {
                   co_return response::text(200, mp->render_metrics(), "text/plain; version=0.0.4");
               },
               {.public_route = true});
    routes.add("GET", "/v2/catalog/models", [mp](request) -> asio::awaitable<response> {
        co_return response::json(200, json::serialize(catalog_json(mp->list())));
    });
    routes.add("GET", "/v2/pools", [mp](request) -> asio::awaitable<response> {
        json::array a;
        for (const auto& s : mp->list()) a.push_back(to_json(s));
        co_return response::json(200, json::serialize(json::object{{"pools", a}}));
    });
    routes.add("GET", "/v2/pools/{id}/status", [mp](request q) -> asio::awaitable<response> {
        auto s = mp->status(q.params[0]);
        if (!s) {
            auto e = api::make_error(api::error_code::not_found, "no pool '" + q.params[0] + "'");
            co_return error_response(e, q);
        }
        co_return response::json(200, json::serialize(to_json(*s)));
    });
    routes.add("GET", "/v2/pools/{id}/health", [mp](request q) -> asio::awaitable<response> {
        auto s = mp->status(q.params[0]);
        if (!s) {
            auto e = api::make_error(api::error_code::not_found, "no pool '" + q.params[0] + "'");
            co_return error_response(e, q);
        }
        bool live = s->state != pool_state::failed && s->state != pool_state::offline &&
                    s->state != pool_state::uninitialized;
        json::object o{{"live", live},
                       {"ready", s->state == pool_state::ready},
                       {"draining", s->state == pool_state::draining},
                       {"metrics", json::object{{"slots_total", s->slots_total},
                                                {"slots_free", s->slots_free},
                                                {"restarts", s->restarts}}},
                       {"last_error",
                        s->last_error.empty() ? json::value(nullptr) : json::value(s->last_error)}};
        co_return response::json(200, json::serialize(o));
    });
    routes.add("POST", "/v2/pools/{id}/drain", [mp](request q) -> asio::awaitable<response> {
        api::error err;
        auto body = body_object(q, err);
        if (!body) co_return error_response(err, q);
        long long deadline = 30'000;
        if (auto* d = body->if_contains("deadline_ms")) {
            if (!d->is_int64() || d->get_int64() < 0) {
                co_return error_response(api::make_error(api::error_code::invalid_params,
                                                         "deadline_ms: must be an integer >= 0"),
                                         q);
            }
            deadline = d->get_int64();
        }
        auto r = mp->drain(q.params[0], std::chrono::milliseconds(deadline));
        if (!r) co_return error_response(r.error(), q);
        co_return response::json(202, json::serialize(to_json(*mp->status(q.params[0]))));
    });
    routes.add("POST", "/v2/pools/{id}/reload", [mp](request q) -> asio::awaitable<response> {
        api::error err;
        auto body = body_object(q, err);
        if (!body) co_return error_response(err, q);
        auto* ref = body->if_contains("new_model_ref");
        if (!ref || !ref->is_string() || ref->get_string().empty()) {
            co_return error_response(api::make_error(api::error_code::invalid_params,
                                                     "new_model_ref: give the new model's path"),
                                     q);
        }
        std::string model(ref->get_string());
        if (model.starts_with("file:")) model = model.substr(5);
        auto r = co_await mp->reload(q.params[0], model);
        if (!r) co_return error_response(r.error(), q);
        co_return response::json(200, json::serialize(to_json(*r)));
    });
    routes.add("POST", "/v2/pools/{id}/infer", [mp, opts](request q) -> asio::awaitable<response> {
        api::error err;
        auto body = body_object(q, err);
        if (!body) co_return error_response(err, q);
        auto g = engines::parse_generation(*body);
        if (!g) co_return error_response(g.error(), q);
        auto task_id = g->task_id;
        int attempt = g->attempt;
        auto s = mp->begin_infer(q.params[0], std::move(*g));
        if (!s) co_return error_response(s.error(), q);
        response res;
        res.content_type = "text/event-stream";
        res.stream = std::make_shared<infer_sse>(std::move(*s), task_id, attempt, opts.node_id);
        co_return res;
    });
}

}  // namespace llorch::pool
