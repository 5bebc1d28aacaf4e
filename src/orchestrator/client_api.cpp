#include "orchestrator/client_api.h"

#include <boost/json.hpp>

#include "pool/worker_api.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

response err(const api::error& e, const request& q) {
    return response::from_error(e, q.correlation_id);
}

api::error not_found(const std::string& what) {
    return api::make_error(api::error_code::not_found, what);
}

expected<json::object, api::error> parse_object(const std::string& body) {
    if (body.empty())
        return fail(api::make_error(api::error_code::invalid_params,
                                    "the request body is empty; send a JSON object"));
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        return fail(api::make_error(api::error_code::invalid_params,
                                    "the request body is not valid JSON: " + ec.message()));
    if (!v.is_object())
        return fail(api::make_error(api::error_code::invalid_params,
                                    "the request body must be a JSON object"));
    return std::move(v.get_object());
}

json::object task_json(const task& t, const task_service& s) {
    auto ms = [&](clock::time_point p) -> json::value {
        if (p == clock::time_point{}) return nullptr;
        return std::chrono::duration_cast<std::chrono::milliseconds>(p - t.created).count();
    };
    json::object o{{"task_id", t.spec.task_id},
                   {"session_id", t.spec.session_id},
                   {"state", to_string(t.state)},
                   {"model", t.spec.model},
                   {"priority", admission::to_string(t.spec.priority)},
                   {"node_id", t.node_id},
                   {"pool_id", t.pool_id},
                   {"attempts", t.attempts},
                   {"tokens", t.tokens},
                   {"tokens_out", t.tokens_out},
                   {"readers", t.readers},
                   {"started_ms", ms(t.started)},
                   {"first_token_ms", ms(t.first_token)},
                   {"ended_ms", ms(t.ended)}};
    if (auto p = s.queue_position(t.spec.task_id)) o["queue_position"] = *p;
    if (t.error) {
        o["error"] =
            json::object{{"code", api::to_string(t.error->code)}, {"message", t.error->message}};
    }
    return o;
}

asio::awaitable<response> submit(task_service& s, request q) {
    auto body = parse_object(q.body);
    if (!body) co_return err(body.error(), q);
    auto spec = parse_task_spec(*body);
    if (!spec) co_return err(spec.error(), q);
    if (!s.find(spec->task_id)) {
        auto fits = co_await s.check_prompt(*spec);
        if (!fits) co_return err(fits.error(), q);
    }
    auto a = s.submit(std::move(*spec));
    if (!a) co_return err(a.error(), q);
    const auto& id = a->t->spec.task_id;
    std::string events = "/v2/tasks/" + id + "/events";
    json::object o{
        {"task_id", id},
        {"session_id", a->t->spec.session_id},
        {"queue_position", a->queue_position},
        {"predicted_start_ms", a->predicted_start_ms},
        {"backoff_ms", 0},
        {"streams", json::object{{"sse", events}, {"sse_verbose", events + "?verbose=true"}}},
        {"events_url", events},
        {"state", to_string(a->t->state)}};
    auto r = response::json(a->existing ? 200 : 202, json::serialize(o));
    r.headers.add("Location", "/v2/tasks/" + id);
    co_return r;
}

asio::awaitable<response> events(task_service& s, request q) {
    auto t = s.find(q.params[0]);
    if (!t) co_return err(not_found("no task '" + q.params[0] + "' (it may have expired)"), q);
    std::optional<long long> last;
    std::optional<std::string> raw;
    if (auto h = q.header("Last-Event-ID"))
        raw = std::string(*h);
    else
        raw = q.query_param("last_event_id");
    if (raw && !raw->empty()) {
        try {
            last = std::stoll(*raw);
        } catch (...) {
            co_return err(api::make_error(api::error_code::invalid_params,
                                          "Last-Event-ID: must be an event index"),
                          q);
        }
    }
    response r;
    r.content_type = "text/event-stream";
    auto verbose = q.query_param("verbose");
    r.stream = s.open_events(t, last, verbose && (*verbose == "true" || *verbose == "1"));
    co_return r;
}

}  // namespace

void add_client_routes(http::router& routes, task_service& s, client_api_options opts) {
    auto* sp = &s;
    routes.add("POST", "/v2/tasks", [sp](request q) { return submit(*sp, std::move(q)); });
    routes.add("GET", "/v2/tasks/{id}/events",
               [sp](request q) { return events(*sp, std::move(q)); });
    routes.add("GET", "/v2/tasks/{id}", [sp](request q) -> asio::awaitable<response> {
        auto t = sp->find(q.params[0]);
        if (!t) co_return err(not_found("no task '" + q.params[0] + "'"), q);
        co_return response::json(200, json::serialize(task_json(*t, *sp)));
    });
    routes.add("POST", "/v2/tasks/{id}/cancel", [sp](request q) -> asio::awaitable<response> {
        auto r = sp->cancel(q.params[0]);
        if (!r) co_return err(r.error(), q);
        co_return response::no_content();
    });
    routes.add("GET", "/v2/sessions/{id}", [sp](request q) -> asio::awaitable<response> {
        auto* ses = sp->session(q.params[0]);
        if (!ses) co_return err(not_found("no session '" + q.params[0] + "'"), q);
        json::object o{{"session_id", ses->id},
                       {"turns", ses->turns},
                       {"pool_id", ses->pool_id},
                       {"node_id", ses->node_id}};
        co_return response::json(200, json::serialize(o));
    });
    routes.add("DELETE", "/v2/sessions/{id}", [sp](request q) -> asio::awaitable<response> {
        sp->drop_session(q.params[0]);
        co_return response::no_content();
    });
    routes.add("GET", "/v2/meta/version", [](request) -> asio::awaitable<response> {
        co_return response::json(
            200, json::serialize(json::object{{"version", LLORCH_VERSION}, {"api", "v2"}}));
    });
    routes.add("GET", "/v2/meta/capabilities", [opts](request) -> asio::awaitable<response> {
        json::object o{{"api_version", "v2"},
                       {"profile", opts.profile},
                       {"workloads", json::array{"completion"}},
                       {"streaming", true},
                       {"placement_modes", json::array{"auto", "prefer", "pin"}},
                       {"priorities", json::array{"interactive", "batch"}}};
        if (opts.local_pools) {
            json::array engines;
            for (const auto& p : opts.local_pools->list())
                engines.push_back(json::object{{"engine", p.engine},
                                               {"model", p.name},
                                               {"ctx_max", p.ctx},
                                               {"max_tokens_cap", p.max_tokens_cap}});
            o["engines"] = std::move(engines);
        }
        co_return response::json(200, json::serialize(o));
    });
    routes.add("GET", "/health",
               [sp](request) -> asio::awaitable<response> {
                   json::object o{{"status", sp->admitting() ? "ok" : "draining"},
                                  {"version", LLORCH_VERSION}};
                   co_return response::json(200, json::serialize(o));
               },
               {.public_route = true});
    routes.add("GET", "/ready", [sp, opts](request) -> asio::awaitable<response> {
        bool ready = sp->admitting();
        if (opts.local_pools) {
            bool any = false;
            for (const auto& p : opts.local_pools->list())
                any |= p.state == pool::pool_state::ready;
            ready = ready && any;
        }
        co_return response::json(ready ? 200 : 503,
                                 json::serialize(json::object{{"ready", ready}}));
    });
    routes.add("GET", "/metrics",
               [sp, opts](request) -> asio::awaitable<response> {
                   std::string m = sp->render_metrics();
                   if (opts.local_pools) m += opts.local_pools->render_metrics();
                   co_return response::text(200, m, "text/plain; version=0.0.4");
               },
               {.public_route = true});

    if (auto* mp = opts.local_pools) {
        routes.add("GET", "/v2/catalog/models", [mp](request) -> asio::awaitable<response> {
            co_return response::json(200, json::serialize(pool::catalog_json(mp->list())));
        });
        routes.add("GET", "/v2/catalog/availability", [mp](request) -> asio::awaitable<response> {
            json::object models;
            for (const auto& p : mp->list()) {
                auto& entry = models[p.name];
                if (!entry.is_array()) entry = json::array{};
                entry.as_array().push_back(
                    json::object{{"node_id", ""},
                                 {"pool_id", p.id},
                                 {"ready", p.state == pool::pool_state::ready}});
            }
            co_return response::json(200, json::serialize(json::object{{"models", models}}));
        });
        routes.add("GET", "/v2/pools", [mp](request) -> asio::awaitable<response> {
            json::array a;
            for (const auto& p : mp->list()) a.push_back(pool::to_json(p));
            co_return response::json(200, json::serialize(json::object{{"pools", a}}));
        });
        routes.add("GET", "/v2/pools/{id}/status", [mp](request q) -> asio::awaitable<response> {
            auto p = mp->status(q.params[0]);
            if (!p) co_return err(not_found("no pool '" + q.params[0] + "'"), q);
            co_return response::json(200, json::serialize(pool::to_json(*p)));
        });
        routes.add("POST", "/v2/pools/{id}/drain", [mp](request q) -> asio::awaitable<response> {
            long long deadline = 30'000;
            if (!q.body.empty()) {
                auto b = parse_object(q.body);
                if (!b) co_return err(b.error(), q);
                if (auto* d = b->if_contains("deadline_ms"); d && d->is_int64())
                    deadline = d->get_int64();
            }
            auto r = mp->drain(q.params[0], std::chrono::milliseconds(deadline));
            if (!r) co_return err(r.error(), q);
            co_return response::json(202, json::serialize(pool::to_json(*mp->status(q.params[0]))));
        });
        routes.add("POST", "/v2/pools/{id}/reload", [mp](request q) -> asio::awaitable<response> {
            auto b = parse_object(q.body);
            if (!b) co_return err(b.error(), q);
            auto* ref = b->if_contains("new_model_ref");
            if (!ref || !ref->is_string())
                co_return err(api::make_error(api::error_code::invalid_params,
                                              "new_model_ref: give the new model's path"),
                              q);
            std::string model(ref->get_string());
            if (model.starts_with("file:")) model = model.substr(5);
            auto r = co_await mp->reload(q.params[0], model);
            if (!r) co_return err(r.error(), q);
            co_return response::json(200, json::serialize(pool::to_json(*r)));
        });
    }
}

}  // namespace llorch::orchestrator
