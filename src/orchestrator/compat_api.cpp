#include "orchestrator/compat_api.h"

#include <set>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_request.h"
#include "orchestrator/compat_responses.h"
#include "orchestrator/compat_stream.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

// The answer to Ollama's load and unload idioms: nothing generated, the model named.
response ollama_idiom_answer(const compat_ctx& c, compat_request::idiom i) {
    return response::json(200, ollama_line(c, "", true, nullptr,
                                           i == compat_request::idiom::unload ? "unload" : "load"));
}

// The whole answer of a task that was not streamed, in the dialect of c.d.
asio::awaitable<response> collect_answer(compat_ctx c, std::shared_ptr<http::body_stream> reader,
                                         std::string corr) {
    bool ollama = is_ollama(c.d);
    event_cursor cur(std::move(reader));
    std::string text;
    json::array calls;  // tool calls, by their index, assembled from their pieces
    end_figures end;
    for (;;) {
        auto ev = co_await cur.next();
        if (!ev) break;
        boost::system::error_code ec;
        auto ev_json = json::parse(ev->data, ec);
        if (ec || !ev_json.is_object()) continue;
        const auto& o = ev_json.get_object();
        if (ev->event == "token") {
            if (auto* t = o.if_contains("t"); t && t->is_string()) text += t->get_string();
        } else if (ev->event == "tool_call") {
            add_tool_call_piece(calls, o);
        } else if (ev->event == "end") {
            end = end_figures_of(o);
        } else if (ev->event == "error") {
            auto e = task_error_of(o);
            co_return ollama ? ollama_error(e, corr) : openai_error(e, corr);
        }
    }
    if (ollama) co_return response::json(200, ollama_line(c, text, true, &end, nullptr, &calls));
    if (c.d == dialect::openai_responses)
        co_return response::json(200, responses_answer(c, text, calls, end));
    json::object choice{{"index", 0}, {"finish_reason", end.finish_reason}};
    if (c.d == dialect::openai_chat) {
        json::object m{{"role", "assistant"}};
        if (calls.empty() || !text.empty())
            m["content"] = text;
        else
            m["content"] = nullptr;
        if (!calls.empty()) m["tool_calls"] = std::move(calls);
        choice["message"] = std::move(m);
    } else
        choice["text"] = text;
    json::object o{{"id", c.id},
                   {"object", c.d == dialect::openai_chat ? "chat.completion" : "text_completion"},
                   {"created", c.created},
                   {"model", c.model},
                   {"choices", json::array{choice}},
                   {"usage", openai_usage(end)}};
    co_return response::json(200, json::serialize(o));
}

asio::awaitable<response> handle(task_service& s, const placement::placement_index& index,
                                 request q, dialect d) {
    auto error = [&](const api::error& e) {
        return is_ollama(d) ? ollama_error(e, q.correlation_id) : openai_error(e, q.correlation_id);
    };
    auto parsed = api::parse_json_body(q.body);
    if (!parsed) co_return error(parsed.error());
    auto in = d == dialect::openai_responses ? translate_responses_request(*parsed)
                                             : translate_request(*parsed, d);
    if (!in) co_return error(in.error());
    if (in->ollama_idiom != compat_request::idiom::none) {
        // An on-demand model starts loading (answered at once) or unloads; a fixed pool keeps
        // its model loaded, so both are no-ops there.
        auto name = std::string(in->task_body.at("model").as_string());
        if (!index.serves(name))
            co_return error(api::make_error(api::error_code::model_not_available,
                                            "model '" + in->model + "' not found"));
        if (in->ollama_idiom == compat_request::idiom::unload)
            (void)s.unload_model(name);
        else
            s.load_model(name, in->keep_alive_ms
                                   ? std::optional(std::chrono::milliseconds(*in->keep_alive_ms))
                                   : std::nullopt);
        co_return ollama_idiom_answer(compat_ctx{d, {}, in->model}, in->ollama_idiom);
    }
    auto spec = parse_task_spec(in->task_body);
    if (!spec) co_return error(spec.error());
    // Every compatible request belongs to its connection: the task ends when the client leaves.
    spec->cancel_on_disconnect = true;
    auto fits = co_await s.check_prompt(*spec);
    if (!fits) co_return error(fits.error());
    auto a = s.submit(std::move(*spec));
    if (!a) co_return error(a.error());
    // A compatible client cannot come back for its task: when it leaves — queued, running or
    // streaming — the task is cancelled at once, without the task API's reconnect grace.
    if (q.departure) q.departure->on_departure([&s, id = a->t->spec.task_id] { s.cancel(id); });
    const char* prefix = d == dialect::openai_chat        ? "chatcmpl-"
                         : d == dialect::openai_responses ? "resp_"
                                                          : "cmpl-";
    compat_ctx c{d, prefix + a->t->spec.task_id, in->model, in->include_usage};
    auto reader = s.open_events(a->t, std::nullopt);
    if (in->stream) {
        response r;
        r.content_type = is_ollama(d) ? "application/x-ndjson" : "text/event-stream";
        r.stream = d == dialect::openai_responses ? make_responses_stream(c, reader)
                                                  : make_compat_stream(c, reader);
        co_return r;
    }
    co_return co_await collect_answer(std::move(c), std::move(reader), q.correlation_id);
}

json::object openai_model(const std::string& id) {
    return json::object{
        {"id", id}, {"object", "model"}, {"owned_by", "llama-orch"}, {"created", 0}};
}

}  // namespace

std::vector<std::string> compat_api::model_names() const {
    std::set<std::string> names;
    index_.for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
        if (!e.state.models.empty()) names.insert(e.state.models.front());
    });
    return {names.begin(), names.end()};
}

asio::awaitable<response> compat_api::chat_completions(request q) {
    return handle(tasks_, index_, std::move(q), dialect::openai_chat);
}
asio::awaitable<response> compat_api::responses(request q) {
    return handle(tasks_, index_, std::move(q), dialect::openai_responses);
}
asio::awaitable<response> compat_api::completions(request q) {
    return handle(tasks_, index_, std::move(q), dialect::openai_text);
}
asio::awaitable<response> compat_api::generate(request q) {
    return handle(tasks_, index_, std::move(q), dialect::ollama_generate);
}
asio::awaitable<response> compat_api::chat(request q) {
    return handle(tasks_, index_, std::move(q), dialect::ollama_chat);
}

asio::awaitable<response> compat_api::models(request) {
    json::array data;
    for (const auto& m : model_names()) data.push_back(openai_model(m));
    co_return response::json(200,
                             json::serialize(json::object{{"object", "list"}, {"data", data}}));
}

asio::awaitable<response> compat_api::model(request q) {
    const auto& id = q.params.at(0);
    if (!index_.serves(id))
        co_return openai_error(api::make_error(api::error_code::model_not_available,
                                               "the model '" + id + "' does not exist"),
                               q.correlation_id);
    co_return response::json(200, json::serialize(openai_model(id)));
}

}  // namespace llorch::orchestrator
