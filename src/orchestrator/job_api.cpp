#include "orchestrator/job_api.h"

#include <boost/json.hpp>

#include "api/json_body.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

json::value since(clock::time_point origin, clock::time_point p) {
    if (p == clock::time_point{}) return nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(p - origin).count();
}

json::object task_json(const job& j, size_t i) {
    const auto& jt = j.tasks[i];
    const auto& def = j.run.graph().task(i);
    auto st = j.run.state(i);
    json::array deps;
    for (const auto& d : def.depends_on) deps.push_back(json::string(d));
    json::object o{{"id", def.id},
                   {"task_id", jt.spec.task_id},
                   {"depends_on", std::move(deps)},
                   {"state", jobs::to_string(st)},
                   {"model", jt.spec.model}};
    if (!j.run.cause(i).empty()) o["cause"] = j.run.cause(i);
    if (jt.error)
        o["error"] =
            json::object{{"code", api::to_string(jt.error->code)}, {"message", jt.error->message}};
    // What the task was given: its texts with the outputs substituted once it started.
    const auto& g = jt.spec.generation;
    if (g.prompt) o["prompt"] = *g.prompt;
    if (!g.messages.empty()) {
        json::array ms;
        for (const auto& m : g.messages)
            ms.push_back(json::object{{"role", m.role}, {"content", m.content}});
        o["messages"] = std::move(ms);
    }
    o["submitted_ms"] = since(j.created, jt.submitted);
    if (const auto* t = jt.t.get()) {
        o["task_state"] = to_string(t->state);
        o["pool_id"] = t->pool_id;
        o["node_id"] = t->node_id;
        o["attempts"] = t->attempts;
        o["started_ms"] = since(j.created, t->started);
        o["first_token_ms"] = since(j.created, t->first_token);
        o["ended_ms"] = since(j.created, t->ended);
        o["tokens_out"] = t->tokens_out;
    }
    o["output"] = jt.output;
    if (j.run.output_truncated(i)) o["output_truncated"] = true;
    return o;
}

json::object job_json(const job& j) {
    json::array tasks;
    for (size_t i = 0; i < j.tasks.size(); ++i) tasks.push_back(task_json(j, i));
    std::string id = j.id;
    json::object o{{"job_id", id},
                   {"state", jobs::to_string(j.run.state())},
                   {"events_url", "/v2/jobs/" + id + "/events"},
                   {"running", j.run.running()},
                   {"ended_ms", j.ended_reported ? since(j.created, j.ended) : nullptr},
                   {"tasks", std::move(tasks)}};
    if (!j.run.cause().empty()) o["cause"] = j.run.cause();
    return o;
}

}  // namespace

asio::awaitable<response> job_api::submit(request q) {
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto spec = parse_job_spec(*body, jobs_.options().limits);
    if (!spec) co_return error_reply(spec.error(), q);
    if (!jobs_.find(spec->job_id)) {
        // What can be known before anything runs: every task type is known, every model is served,
        // and every prompt as written (before substitution) fits its model's context.
        for (size_t i = 0; i < spec->tasks.size(); ++i) {
            auto& t = spec->tasks[i];
            const auto& id = spec->graph.task(i).id;
            if (auto ok = tasks_.resolve_task_type(t); !ok) {
                auto e = ok.error();
                e.message = "tasks." + id + ": " + e.message;
                co_return error_reply(e, q);
            }
            if (!tasks_.limits(t.model))
                co_return error_reply(
                    api::make_error(api::error_code::model_not_available,
                                    "tasks." + id + ": no pool serves model '" + t.model +
                                        "'; GET /v2/pools lists the models this "
                                        "cluster has"),
                    q);
            auto fits = co_await tasks_.check_prompt(t);
            if (!fits) {
                auto e = fits.error();
                e.message = "tasks." + id + ": " + e.message;
                co_return error_reply(e, q);
            }
        }
    }
    auto s = jobs_.submit(std::move(*spec));
    if (!s) co_return error_reply(s.error(), q);
    const auto& id = s->j->id;
    json::object o{{"job_id", id},
                   {"state", jobs::to_string(s->j->run.state())},
                   {"tasks", s->j->tasks.size()},
                   {"events_url", "/v2/jobs/" + id + "/events"}};
    auto r = response::json(s->existing ? 200 : 202, json::serialize(o));
    r.headers.add("Location", "/v2/jobs/" + id);
    co_return r;
}

asio::awaitable<response> job_api::status(request q) {
    auto j = jobs_.find(q.params[0]);
    if (!j)
        co_return error_reply(api::make_error(api::error_code::not_found,
                                              "no job '" + q.params[0] + "' (it may have expired)"),
                              q);
    co_return response::json(200, json::serialize(job_json(*j)));
}

asio::awaitable<response> job_api::events(request q) {
    auto j = jobs_.find(q.params[0]);
    if (!j)
        co_return error_reply(api::make_error(api::error_code::not_found,
                                              "no job '" + q.params[0] + "' (it may have expired)"),
                              q);
    auto tokens = q.query_param("tokens");
    response r;
    r.content_type = "text/event-stream";
    r.stream = jobs_.open_events(j, tokens && (*tokens == "true" || *tokens == "1"));
    co_return r;
}

asio::awaitable<response> job_api::cancel(request q) {
    auto r = jobs_.cancel(q.params[0]);
    if (!r) co_return error_reply(r.error(), q);
    co_return response::no_content();
}

}  // namespace llorch::orchestrator
