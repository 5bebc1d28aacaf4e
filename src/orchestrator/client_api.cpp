#include "orchestrator/client_api.h"

#include <charconv>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "http/accept.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

api::error not_found(const std::string& what) {
    return api::make_error(api::error_code::not_found, what);
}

// ?verbose=true (or 1): the event stream carries the engine's own frames too.
bool wants_verbose(const request& q) {
    auto v = q.query_param("verbose");
    return v && (*v == "true" || *v == "1");
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

}  // namespace

asio::awaitable<response> client_api::submit(request q) {
    auto& s = tasks_;
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto spec = parse_task_spec(*body);
    if (!spec) co_return error_reply(spec.error(), q);
    if (!s.find(spec->task_id)) {
        auto fits = co_await s.check_prompt(*spec);
        if (!fits) co_return error_reply(fits.error(), q);
    }
    auto a = s.submit(std::move(*spec));
    if (!a) co_return error_reply(a.error(), q);
    const auto& id = a->t->spec.task_id;
    if (auto accept = q.header("Accept");
        accept && http::names_media_type(*accept, "text/event-stream")) {
        // One exchange: the answer is the task's event stream itself, from its first event (a
        // resubmitted task_id replays from the start); the task's URL and id ride in headers.
        response r;
        r.content_type = "text/event-stream";
        r.headers.add("Location", "/v2/tasks/" + id);
        r.headers.add("X-Task-Id", id);
        r.stream = s.open_events(a->t, std::nullopt, wants_verbose(q));
        co_return r;
    }
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

asio::awaitable<response> client_api::events(request q) {
    auto& s = tasks_;
    auto t = s.find(q.params[0]);
    if (!t)
        co_return error_reply(not_found("no task '" + q.params[0] + "' (it may have expired)"), q);
    std::optional<long long> last;
    std::optional<std::string> raw;
    if (auto h = q.header("Last-Event-ID"))
        raw = std::string(*h);
    else
        raw = q.query_param("last_event_id");
    if (raw && !raw->empty()) {
        // The whole value must be an index: "1abc" is not event 1.
        long long v = -1;
        auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
        if (ec != std::errc{} || end != raw->data() + raw->size() || v < 0)
            co_return error_reply(
                api::make_error(api::error_code::invalid_params,
                                "Last-Event-ID: must be an event index (a whole number "
                                "from an event's id: line)"),
                q);
        last = v;
    }
    response r;
    r.content_type = "text/event-stream";
    r.stream = s.open_events(t, last, wants_verbose(q));
    co_return r;
}

asio::awaitable<response> client_api::task_status(request q) {
    auto t = tasks_.find(q.params[0]);
    if (!t) co_return error_reply(not_found("no task '" + q.params[0] + "'"), q);
    co_return response::json(200, json::serialize(task_json(*t, tasks_)));
}

asio::awaitable<response> client_api::cancel(request q) {
    auto r = tasks_.cancel(q.params[0]);
    if (!r) co_return error_reply(r.error(), q);
    co_return response::no_content();
}

asio::awaitable<response> client_api::load_model(request q) {
    const auto& name = q.params[0];
    if (!tasks_.limits(name)) co_return error_reply(not_found("no model '" + name + "' here"), q);
    auto loading = tasks_.load_model(name, std::nullopt);
    json::object o{{"model", name}, {"loading", loading.has_value()}};
    if (loading) o["pool_id"] = *loading;
    co_return response::json(loading ? 202 : 200, json::serialize(o));
}

asio::awaitable<response> client_api::unload_model(request q) {
    auto r = tasks_.unload_model(q.params[0]);
    if (!r) co_return error_reply(r.error(), q);
    co_return response::json(
        202, json::serialize(json::object{{"model", q.params[0]}, {"unloading", true}}));
}

asio::awaitable<response> client_api::session(request q) {
    auto* ses = tasks_.session(q.params[0]);
    if (!ses) co_return error_reply(not_found("no session '" + q.params[0] + "'"), q);
    json::object o{{"session_id", ses->id},
                   {"turns", ses->turns},
                   {"pool_id", ses->pool_id},
                   {"node_id", ses->node_id}};
    co_return response::json(200, json::serialize(o));
}

asio::awaitable<response> client_api::drop_session(request q) {
    tasks_.drop_session(q.params[0]);
    co_return response::no_content();
}

asio::awaitable<response> client_api::version(request) {
    co_return response::json(
        200, json::serialize(json::object{{"version", LLORCH_VERSION}, {"api", "v2"}}));
}

asio::awaitable<response> client_api::capabilities(request) {
    json::object o{{"api_version", "v2"},
                   {"profile", opts_.profile},
                   {"workloads", json::array{"completion"}},
                   {"streaming", true},
                   {"placement_modes", json::array{"auto", "prefer", "pin"}},
                   {"priorities", json::array{"interactive", "batch"}}};
    if (opts_.local_pools) {
        json::array engines;
        for (const auto& p : opts_.local_pools->list())
            engines.push_back(json::object{{"engine", p.engine},
                                           {"model", p.name},
                                           {"ctx_max", p.ctx},
                                           {"max_tokens_cap", p.max_tokens_cap}});
        o["engines"] = std::move(engines);
    }
    co_return response::json(200, json::serialize(o));
}

asio::awaitable<response> client_api::health(request) {
    json::object o{{"status", tasks_.admitting() ? "ok" : "draining"}, {"version", LLORCH_VERSION}};
    co_return response::json(200, json::serialize(o));
}

asio::awaitable<response> client_api::ready(request) {
    bool ready = tasks_.admitting();
    if (opts_.local_pools) {
        bool any = false;
        for (const auto& p : opts_.local_pools->list()) any |= p.state == pool::pool_state::ready;
        ready = ready && any;
    }
    co_return response::json(ready ? 200 : 503, json::serialize(json::object{{"ready", ready}}));
}

asio::awaitable<response> client_api::metrics(request) {
    co_return response::text(200, opts_.metrics ? opts_.metrics->render() : std::string(),
                             "text/plain; version=0.0.4");
}

}  // namespace llorch::orchestrator
