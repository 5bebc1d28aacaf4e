#include "orchestrator/compat_stream.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "orchestrator/compat_errors.h"
#include "orchestrator/task.h"

namespace llorch::orchestrator {
namespace json = boost::json;

long long unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string iso_now() { return iso_time(std::chrono::system_clock::now()); }

std::string iso_time(std::chrono::system_clock::time_point when) {
    auto t = std::chrono::system_clock::to_time_t(when);
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<http::sse_event> event_cursor::take() {
    if (i_ < batch_.size()) return std::move(batch_[i_++]);
    return std::nullopt;
}

asio::awaitable<std::optional<http::sse_event>> event_cursor::next() {
    for (;;) {
        if (i_ < batch_.size()) co_return std::move(batch_[i_++]);
        batch_.clear();
        i_ = 0;
        auto chunk = co_await reader_->next(std::chrono::milliseconds(15'000));
        if (!chunk) co_return std::nullopt;
        parser_.feed(*chunk, batch_);
    }
}

end_figures end_figures_of(const json::object& end) {
    end_figures f;
    if (auto* r = end.if_contains("finish_reason"); r && r->is_string())
        f.finish_reason = r->get_string();
    if (auto* n = end.if_contains("tokens_out"); n && n->is_int64()) f.tokens_out = n->get_int64();
    if (auto* n = end.if_contains("tokens_in"); n && n->is_int64()) f.tokens_in = n->get_int64();
    if (auto* n = end.if_contains("decode_ms"); n && n->is_int64()) f.decode_ms = n->get_int64();
    return f;
}

json::object openai_usage(const end_figures& e) {
    long long in = std::max<long long>(0, e.tokens_in);
    return json::object{{"prompt_tokens", in},
                        {"completion_tokens", e.tokens_out},
                        {"total_tokens", in + e.tokens_out}};
}

void add_tool_call_piece(json::array& calls, const json::object& ev) {
    auto idx = ev.contains("index") ? api::json_number(ev.at("index")).value_or(0) : 0;
    if (idx < 0 || idx > 127) return;
    auto i = static_cast<size_t>(idx);
    while (calls.size() <= i)
        calls.push_back(json::object{{"id", ""},
                                     {"type", "function"},
                                     {"function", json::object{{"name", ""}, {"arguments", ""}}}});
    auto& call = calls[i].as_object();
    auto& fn = call["function"].as_object();
    if (auto* id = ev.if_contains("id"); id && id->is_string()) call["id"] = *id;
    if (auto* n = ev.if_contains("name"); n && n->is_string()) fn["name"] = *n;
    if (auto* a = ev.if_contains("arguments"); a && a->is_string() && !a->get_string().empty()) {
        std::string args(fn["arguments"].as_string());
        args += a->get_string();
        fn["arguments"] = args;
    }
}

namespace {
// Ollama's calls: {function: {name, arguments}} with the arguments an object (an empty one when
// the model's text does not parse as one).
json::array ollama_calls(const json::array& openai_calls) {
    json::array out;
    for (const auto& c : openai_calls) {
        const auto& fn = c.at("function").as_object();
        boost::system::error_code ec;
        auto args = json::parse(fn.at("arguments").as_string(), ec);
        out.push_back(json::object{
            {"function",
             json::object{{"name", fn.at("name")},
                          {"arguments", !ec && args.is_object() ? std::move(args)
                                                                : json::value(json::object{})}}}});
    }
    return out;
}
}  // namespace

std::string ollama_line(const compat_ctx& c, const std::string& text, bool done,
                        const end_figures* end, const char* done_reason,
                        const json::array* tool_calls) {
    json::object o{{"model", c.model}, {"created_at", iso_now()}};
    if (c.d == dialect::ollama_chat) {
        json::object m{{"role", "assistant"}, {"content", text}};
        if (tool_calls && !tool_calls->empty()) m["tool_calls"] = ollama_calls(*tool_calls);
        o["message"] = std::move(m);
    } else
        o["response"] = text;
    o["done"] = done;
    if (done) {
        // Ollama ends a turn with tool calls as "stop".
        o["done_reason"] = done_reason                                 ? done_reason
                           : end && end->finish_reason != "tool_calls" ? end->finish_reason
                                                                       : "stop";
        o["total_duration"] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - c.received)
                                  .count();
        if (end) {
            if (end->tokens_in >= 0) o["prompt_eval_count"] = end->tokens_in;
            o["eval_count"] = end->tokens_out;
            if (end->decode_ms >= 0) o["eval_duration"] = end->decode_ms * 1'000'000;
        }
    }
    return json::serialize(o);
}

namespace {

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
// token frames carry it so); nullptr for the closing chunk. `role`: the first chat delta says
// whose message it is.
std::string openai_chunk(const compat_ctx& c, const std::string& head,
                         const std::string_view* escaped_text, const char* finish, bool role) {
    std::string out;
    out.reserve(head.size() + 80 + (escaped_text ? escaped_text->size() : 0));
    out += head;
    if (c.d == dialect::openai_chat) {
        out += "\"delta\":{";
        if (role) out += "\"role\":\"assistant\"";
        if (escaped_text) {
            if (role) out += ',';
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

// A chunk with a piece of a tool call (a `tool_call` event of the task): OpenAI's delta, whose
// first piece of a call names it (id, type, function name) and every piece may add arguments.
std::string openai_tool_chunk(const compat_ctx& c, const json::object& ev, bool role) {
    json::object fn;
    json::object call{{"index", ev.contains("index") ? ev.at("index") : json::value(0)}};
    if (auto* id = ev.if_contains("id")) {
        call["id"] = *id;
        call["type"] = "function";
    }
    if (auto* n = ev.if_contains("name")) fn["name"] = *n;
    fn["arguments"] = ev.contains("arguments") ? ev.at("arguments") : json::value("");
    call["function"] = std::move(fn);
    json::object delta;
    if (role) {
        delta["role"] = "assistant";
        delta["content"] = nullptr;
    }
    delta["tool_calls"] = json::array{std::move(call)};
    json::object o{
        {"id", c.id},
        {"object", "chat.completion.chunk"},
        {"created", c.created},
        {"model", c.model},
        {"choices", json::array{json::object{
                        {"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}}}};
    return "data: " + json::serialize(o) + "\n\n";
}

// The chunk after the last choice chunk when the client asked for usage: no choices.
std::string openai_usage_chunk(const compat_ctx& c, const end_figures& e) {
    json::object o{
        {"id", c.id},
        {"object", c.d == dialect::openai_chat ? "chat.completion.chunk" : "text_completion"},
        {"created", c.created},
        {"model", c.model},
        {"choices", json::array{}},
        {"usage", openai_usage(e)}};
    return "data: " + json::serialize(o) + "\n\n";
}

// Streams a task in one of the compatible formats.
class compat_stream final : public http::body_stream {
  public:
    compat_stream(compat_ctx c, std::shared_ptr<http::body_stream> reader)
        : c_(std::move(c)), head_(openai_chunk_head(c_)), cur_(std::move(reader)) {}
    // Every event already read goes out in one chunk (one write for the frames that are ready
    // together); the cursor is awaited only when none is left.
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        if (done_) co_return std::nullopt;
        std::string out;
        for (;;) {
            auto ev = cur_.take();
            if (!ev) {
                if (!out.empty()) co_return out;
                ev = co_await cur_.next();
            }
            if (!ev) {
                done_ = true;
                co_return std::nullopt;
            }
            on_event(*ev, out);
            if (done_) co_return out;
        }
    }
    void on_disconnect() override { cur_.disconnect(); }
    bool ended() const override { return done_; }

  private:
    // The first piece becomes the chunk as it is; later ones are appended.
    static void add(std::string& out, std::string piece) {
        if (out.empty())
            out = std::move(piece);
        else
            out += piece;
    }
    // Appends what one event of the task becomes in the dialect (possibly nothing).
    void on_event(const http::sse_event& ev, std::string& out) {
        bool ollama = is_ollama(c_.d);
        if (!ollama && ev.event == "token") {
            // The text is already escaped in the token frame: copied, not parsed and
            // re-serialized. Every token frame of a task's log has that shape.
            if (auto t = token_frame_text(ev.data)) {
                bool role = std::exchange(role_due_, false);
                add(out, openai_chunk(c_, head_, &*t, nullptr, role));
            }
            return;
        }
        boost::system::error_code ec;
        auto v = json::parse(ev.data, ec);
        if (ec || !v.is_object()) return;
        const auto& o = v.get_object();
        if (ev.event == "token") {
            auto* t = o.if_contains("t");
            if (!t || !t->is_string()) return;
            out += ollama_line(c_, std::string(t->get_string()), false) + "\n";
            return;
        }
        if (ev.event == "tool_call") {
            // Ollama sends a call whole, in a line before the last.
            if (c_.d == dialect::ollama_chat) add_tool_call_piece(calls_, o);
            if (c_.d != dialect::openai_chat) return;
            bool role = std::exchange(role_due_, false);
            out += openai_tool_chunk(c_, o, role);
            return;
        }
        if (ev.event == "end") {
            done_ = true;
            auto e = end_figures_of(o);
            if (ollama && !calls_.empty())
                out += ollama_line(c_, "", false, nullptr, nullptr, &calls_) + "\n";
            if (ollama) {
                out += ollama_line(c_, "", true, &e) + "\n";
                return;
            }
            bool role = std::exchange(role_due_, false);
            out += openai_chunk(c_, head_, nullptr, e.finish_reason.c_str(), role);
            if (c_.include_usage) out += openai_usage_chunk(c_, e);
            out += "data: [DONE]\n\n";
            return;
        }
        if (ev.event == "error") {
            done_ = true;
            auto e = task_error_of(o);
            if (ollama) {
                out += ollama_error(e, "").body + "\n";
                return;
            }
            http::append_sse(out, "", openai_error(e, "").body);
            out += "data: [DONE]\n\n";
        }
    }

    compat_ctx c_;
    std::string head_;
    event_cursor cur_;
    bool role_due_ = true;
    bool done_ = false;
    json::array calls_;  // Ollama chat: the tool calls so far
};

}  // namespace

std::shared_ptr<http::body_stream> make_compat_stream(compat_ctx c,
                                                      std::shared_ptr<http::body_stream> reader) {
    return std::make_shared<compat_stream>(std::move(c), std::move(reader));
}

}  // namespace llorch::orchestrator
