#include "orchestrator/compat_api.h"

#include <chrono>
#include <set>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "http/sse.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

enum class dialect { openai_chat, openai_text, ollama_generate, ollama_chat };

long long unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string iso_now() {
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

// OpenAI clients expect their own error shape.
response openai_error(const api::error& e, const request& q) {
    json::object o{
        {"error", json::object{{"message", e.message},
                               {"type", e.http_status() == 429   ? "rate_limit_error"
                                        : e.http_status() >= 500 ? "server_error"
                                                                 : "invalid_request_error"},
                               {"code", api::to_string(e.code)}}}};
    auto r = response::from_error(e, q.correlation_id);
    r.body = json::serialize(o);
    return r;
}

// The task's events, one at a time, from its log (via the same reader /v2 events use).
class event_cursor {
  public:
    explicit event_cursor(std::shared_ptr<http::body_stream> reader) : reader_(std::move(reader)) {}
    asio::awaitable<std::optional<http::sse_event>> next() {
        for (;;) {
            if (i_ < batch_.size()) co_return batch_[i_++];
            batch_.clear();
            i_ = 0;
            auto chunk = co_await reader_->next(std::chrono::milliseconds(15'000));
            if (!chunk) co_return std::nullopt;
            parser_.feed(*chunk, batch_);
        }
    }
    void disconnect() { reader_->on_disconnect(); }

  private:
    std::shared_ptr<http::body_stream> reader_;
    http::sse_parser parser_;
    std::vector<http::sse_event> batch_;
    size_t i_ = 0;
};

struct compat_ctx {
    dialect d;
    std::string id;
    std::string model;
    long long created = unix_now();
};

// Everything of an OpenAI chunk before the choice's content, the same for every chunk of a stream.
std::string openai_chunk_head(const compat_ctx& c) {
    std::string h = "data: {\"id\":\"";
    api::append_json_escaped(h, c.id);
    h += c.d == dialect::openai_chat ? "\",\"object\":\"chat.completion.chunk\""
                                     : "\",\"object\":\"text_completion\"";
    h += ",\"created\":" + std::to_string(c.created) + ",\"model\":\"";
    api::append_json_escaped(h, c.model);
    h += "\",\"choices\":[{\"index\":0,";
    return h;
}

// One chunk as an SSE frame. `escaped_text` is already escaped for a JSON string (the task's
// token frames carry it so); nullptr for the closing chunk.
std::string openai_chunk(const compat_ctx& c, const std::string& head,
                         const std::string_view* escaped_text, const char* finish) {
    std::string out;
    out.reserve(head.size() + 64 + (escaped_text ? escaped_text->size() : 0));
    out += head;
    if (c.d == dialect::openai_chat) {
        out += "\"delta\":{";
        if (escaped_text) {
            out += "\"content\":\"";
            out += *escaped_text;
            out += '"';
        }
        out += '}';
    } else {
        out += "\"text\":\"";
        if (escaped_text) out += *escaped_text;
        out += '"';
    }
    out += ",\"finish_reason\":";
    if (finish) {
        out += '"';
        api::append_json_escaped(out, finish);
        out += '"';
    } else {
        out += "null";
    }
    out += "}]}\n\n";
    return out;
}

std::string ollama_line(const compat_ctx& c, const std::string& text, bool done,
                        const json::object* end = nullptr) {
    json::object o{{"model", c.model}, {"created_at", iso_now()}};
    if (c.d == dialect::ollama_chat)
        o["message"] = json::object{{"role", "assistant"}, {"content", text}};
    else
        o["response"] = text;
    o["done"] = done;
    if (done && end) {
        auto reason = end->if_contains("finish_reason");
        o["done_reason"] = reason && reason->is_string() ? reason->get_string() : "stop";
        if (auto* n = end->if_contains("tokens_out")) o["eval_count"] = *n;
        if (auto* d = end->if_contains("decode_ms"); d && d->is_int64())
            o["eval_duration"] = d->get_int64() * 1'000'000;
    }
    return json::serialize(o) + "\n";
}

// Streams a task in one of the compatible formats.
class compat_stream final : public http::body_stream {
  public:
    compat_stream(compat_ctx c, std::shared_ptr<http::body_stream> reader)
        : c_(std::move(c)), head_(openai_chunk_head(c_)), cur_(std::move(reader)) {}
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        if (done_) co_return std::nullopt;
        bool ollama = c_.d == dialect::ollama_generate || c_.d == dialect::ollama_chat;
        for (;;) {
            auto ev = co_await cur_.next();
            if (!ev) {
                done_ = true;
                co_return std::nullopt;
            }
            if (!ollama && ev->event == "token") {
                // The text is already escaped in the token frame: copied, not parsed and
                // re-serialized. Every token frame of a task's log has that shape.
                if (auto t = token_frame_text(ev->data))
                    co_return openai_chunk(c_, head_, &*t, nullptr);
                continue;
            }
            boost::system::error_code ec;
            auto v = json::parse(ev->data, ec);
            if (ec || !v.is_object()) continue;
            const auto& o = v.get_object();
            if (ev->event == "token") {
                co_return ollama_line(c_, std::string(o.at("t").as_string()), false);
            }
            if (ev->event == "end") {
                done_ = true;
                auto fr = o.if_contains("finish_reason");
                std::string reason = fr && fr->is_string() ? std::string(fr->get_string()) : "stop";
                if (ollama) co_return ollama_line(c_, "", true, &o);
                co_return openai_chunk(c_, head_, nullptr, reason.c_str()) + "data: [DONE]\n\n";
            }
            if (ev->event == "error") {
                done_ = true;
                if (ollama)
                    co_return json::serialize(json::object{{"error", o.at("message")}}) + "\n";
                std::string out;
                http::append_sse(out, "", json::serialize(json::object{{"error", o}}));
                co_return out + "data: [DONE]\n\n";
            }
        }
    }
    void on_disconnect() override { cur_.disconnect(); }
    bool ended() const override { return done_; }

  private:
    compat_ctx c_;
    std::string head_;
    event_cursor cur_;
    bool done_ = false;
};

// The body of a compatible request as the fields POST /v2/tasks understands.
api::api_result<json::object> to_task_body(const json::object& in, dialect d) {
    json::object t;
    auto* model = in.if_contains("model");
    if (!model || !model->is_string() || model->get_string().empty())
        return api::make_error(api::error_code::invalid_params, "model: name the model to run");
    t["model"] = *model;
    for (const char* k :
         {"messages", "prompt", "max_tokens", "temperature", "top_p", "top_k", "seed", "stop"})
        if (auto* v = in.if_contains(k)) t[k] = *v;
    if (auto* v = in.if_contains("max_completion_tokens"); v && !t.contains("max_tokens"))
        t["max_tokens"] = *v;
    if (auto* o = in.if_contains("options"); o && o->is_object()) {
        const auto& opts = o->get_object();
        if (auto* n = opts.if_contains("num_predict"); n && n->is_int64() && n->get_int64() > 0)
            t["max_tokens"] = *n;
        for (const char* k : {"temperature", "top_p", "top_k", "seed", "stop"})
            if (auto* v = opts.if_contains(k)) t[k] = *v;
    }
    if (d == dialect::openai_text) {
        if (auto* p = in.if_contains("prompt"); p && p->is_array() && p->get_array().size() == 1)
            t["prompt"] = p->get_array()[0];
    }
    if (auto* v = in.if_contains("ignore_eos")) t["ignore_eos"] = *v;
    return t;
}

asio::awaitable<response> handle(task_service& s, request q, dialect d) {
    bool ollama = d == dialect::ollama_generate || d == dialect::ollama_chat;
    auto error = [&](const api::error& e) {
        return ollama ? response::from_error(e, q.correlation_id) : openai_error(e, q);
    };
    auto parsed = api::parse_json_body(q.body);
    if (!parsed) co_return error(parsed.error());
    const auto& in = *parsed;
    auto body = to_task_body(in, d);
    if (!body) co_return error(body.error());
    auto spec = parse_task_spec(*body);
    if (!spec) co_return error(spec.error());
    // Every compatible request belongs to its connection: the task ends when the client leaves.
    spec->cancel_on_disconnect = true;
    auto fits = co_await s.check_prompt(*spec);
    if (!fits) co_return error(fits.error());
    auto a = s.submit(std::move(*spec));
    if (!a) co_return error(a.error());
    compat_ctx c{d, (d == dialect::openai_chat ? "chatcmpl-" : "cmpl-") + a->t->spec.task_id,
                 std::string(in.at("model").as_string())};
    bool stream = ollama;  // Ollama streams unless told not to; OpenAI only when asked
    if (auto* st = in.if_contains("stream"); st && st->is_bool()) stream = st->get_bool();
    auto reader = s.open_events(a->t, std::nullopt);
    if (stream) {
        response r;
        r.content_type = ollama ? "application/x-ndjson" : "text/event-stream";
        r.stream = std::make_shared<compat_stream>(c, reader);
        co_return r;
    }
    event_cursor cur(reader);
    std::string text;
    std::string finish = "stop";
    long long tokens_out = 0;
    json::object end;
    for (;;) {
        auto ev = co_await cur.next();
        if (!ev) break;
        boost::system::error_code ec;
        auto ev_json = json::parse(ev->data, ec);
        if (ec || !ev_json.is_object()) continue;
        const auto& o = ev_json.get_object();
        if (ev->event == "token") {
            text += o.at("t").as_string();
        } else if (ev->event == "end") {
            end = o;
            if (auto* f = o.if_contains("finish_reason"); f && f->is_string())
                finish = f->get_string();
            if (auto* n = o.if_contains("tokens_out"); n && n->is_int64())
                tokens_out = n->get_int64();
        } else if (ev->event == "error") {
            auto code = api::error_code_from_string(o.at("code").as_string())
                            .value_or(api::error_code::upstream_failed);
            co_return error(api::make_error(code, std::string(o.at("message").as_string())));
        }
    }
    if (ollama) {
        auto line = ollama_line(c, text, true, &end);
        line.pop_back();
        co_return response::json(200, std::move(line));
    }
    json::object choice{{"index", 0}, {"finish_reason", finish}};
    if (d == dialect::openai_chat)
        choice["message"] = json::object{{"role", "assistant"}, {"content", text}};
    else
        choice["text"] = text;
    json::object o{{"id", c.id},
                   {"object", d == dialect::openai_chat ? "chat.completion" : "text_completion"},
                   {"created", c.created},
                   {"model", c.model},
                   {"choices", json::array{choice}},
                   {"usage", json::object{{"completion_tokens", tokens_out}}}};
    co_return response::json(200, json::serialize(o));
}

std::vector<std::string> model_list(const placement::placement_index& index) {
    std::set<std::string> names;
    index.for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
        if (!e.state.models.empty()) names.insert(e.state.models.front());
    });
    return {names.begin(), names.end()};
}

}  // namespace

asio::awaitable<response> compat_api::chat_completions(request q) {
    return handle(tasks_, std::move(q), dialect::openai_chat);
}
asio::awaitable<response> compat_api::completions(request q) {
    return handle(tasks_, std::move(q), dialect::openai_text);
}
asio::awaitable<response> compat_api::generate(request q) {
    return handle(tasks_, std::move(q), dialect::ollama_generate);
}
asio::awaitable<response> compat_api::chat(request q) {
    return handle(tasks_, std::move(q), dialect::ollama_chat);
}

asio::awaitable<response> compat_api::models(request) {
    json::array data;
    for (const auto& m : model_list(index_))
        data.push_back(json::object{
            {"id", m}, {"object", "model"}, {"owned_by", "llama-orch"}, {"created", 0}});
    co_return response::json(200,
                             json::serialize(json::object{{"object", "list"}, {"data", data}}));
}

asio::awaitable<response> compat_api::tags(request) {
    json::array models;
    for (const auto& m : model_list(index_))
        models.push_back(
            json::object{{"name", m}, {"model", m}, {"modified_at", iso_now()}, {"size", 0}});
    co_return response::json(200, json::serialize(json::object{{"models", models}}));
}

}  // namespace llorch::orchestrator
