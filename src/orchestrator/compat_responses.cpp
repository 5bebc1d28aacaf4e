#include "orchestrator/compat_responses.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "orchestrator/compat_errors.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {

constexpr auto bad = api::invalid_field;

const json::value* present(const json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    return v && !v->is_null() ? v : nullptr;
}

// A message's content: a string, or input_text / output_text parts (their texts joined).
api::api_result<std::string> item_text(const json::value& c, const std::string& field) {
    if (c.is_string()) return std::string(c.get_string());
    if (!c.is_array()) return bad(field, "must be a string or an array of content parts");
    std::string out;
    size_t j = 0;
    for (const auto& p : c.get_array()) {
        auto f = field + "[" + std::to_string(j++) + "]";
        auto* po = p.if_object();
        auto* type = po ? po->if_contains("type") : nullptr;
        if (!type || !type->is_string()) return bad(f + ".type", "must be a string");
        if (type->get_string() != "input_text" && type->get_string() != "output_text")
            return bad(f + ".type", "'" + std::string(type->get_string()) +
                                        "' parts are not supported: the model reads text only");
        auto* t = po->if_contains("text");
        if (!t || !t->is_string()) return bad(f + ".text", "must be a string");
        if (!out.empty()) out += "\n";
        out += t->get_string();
    }
    return out;
}

std::string message_id(const compat_ctx& c) { return "msg_" + c.id.substr(5); }

json::object usage_of(const end_figures& e) {
    long long in = std::max<long long>(0, e.tokens_in);
    return json::object{
        {"input_tokens", in}, {"output_tokens", e.tokens_out}, {"total_tokens", in + e.tokens_out}};
}

json::object message_item(const compat_ctx& c, const std::string& text, bool done) {
    json::array content;
    if (done)
        content.push_back(
            json::object{{"type", "output_text"}, {"text", text}, {"annotations", json::array{}}});
    return json::object{{"id", message_id(c)},
                        {"type", "message"},
                        {"status", done ? "completed" : "in_progress"},
                        {"role", "assistant"},
                        {"content", std::move(content)}};
}

// The `response` object: in progress (no output yet) or done with the answer's text.
json::object response_object(const compat_ctx& c, const std::string* text, const end_figures* e) {
    json::object o{{"id", c.id},
                   {"object", "response"},
                   {"created_at", c.created},
                   {"model", c.model},
                   {"error", nullptr},
                   {"incomplete_details", nullptr},
                   {"tools", json::array{}},
                   {"parallel_tool_calls", false}};
    if (!text || !e) {
        o["status"] = "in_progress";
        o["output"] = json::array{};
        return o;
    }
    bool cut = e->finish_reason == "length";
    o["status"] = cut ? "incomplete" : "completed";
    if (cut) o["incomplete_details"] = json::object{{"reason", "max_output_tokens"}};
    o["output"] = json::array{message_item(c, *text, true)};
    o["output_text"] = *text;
    o["usage"] = usage_of(*e);
    return o;
}

class responses_stream final : public http::body_stream {
  public:
    responses_stream(compat_ctx c, std::shared_ptr<http::body_stream> reader)
        : c_(std::move(c)), cur_(std::move(reader)) {}

    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        if (done_) co_return std::nullopt;
        std::string out;
        if (!opened_) {
            opened_ = true;
            emit(out, "response.created", {{"response", response_object(c_, nullptr, nullptr)}});
            emit(out, "response.in_progress",
                 {{"response", response_object(c_, nullptr, nullptr)}});
            emit(out, "response.output_item.added",
                 {{"output_index", 0}, {"item", message_item(c_, "", false)}});
            emit(out, "response.content_part.added",
                 {{"item_id", message_id(c_)},
                  {"output_index", 0},
                  {"content_index", 0},
                  {"part",
                   json::object{
                       {"type", "output_text"}, {"text", ""}, {"annotations", json::array{}}}}});
            co_return out;
        }
        for (;;) {
            auto ev = co_await cur_.next();
            if (!ev) {
                done_ = true;
                co_return std::nullopt;
            }
            boost::system::error_code ec;
            auto v = json::parse(ev->data, ec);
            if (ec || !v.is_object()) continue;
            const auto& o = v.get_object();
            if (ev->event == "token") {
                auto* t = o.if_contains("t");
                if (!t || !t->is_string()) continue;
                text_ += t->get_string();
                emit(out, "response.output_text.delta",
                     {{"item_id", message_id(c_)},
                      {"output_index", 0},
                      {"content_index", 0},
                      {"delta", t->get_string()}});
                co_return out;
            }
            if (ev->event == "end") {
                done_ = true;
                auto e = end_figures_of(o);
                json::object part{
                    {"type", "output_text"}, {"text", text_}, {"annotations", json::array{}}};
                emit(out, "response.output_text.done",
                     {{"item_id", message_id(c_)},
                      {"output_index", 0},
                      {"content_index", 0},
                      {"text", text_}});
                emit(out, "response.content_part.done",
                     {{"item_id", message_id(c_)},
                      {"output_index", 0},
                      {"content_index", 0},
                      {"part", std::move(part)}});
                emit(out, "response.output_item.done",
                     {{"output_index", 0}, {"item", message_item(c_, text_, true)}});
                emit(out,
                     e.finish_reason == "length" ? "response.incomplete" : "response.completed",
                     {{"response", response_object(c_, &text_, &e)}});
                co_return out;
            }
            if (ev->event == "error") {
                done_ = true;
                auto* m = o.if_contains("message");
                auto* code = o.if_contains("code");
                emit(out, "error",
                     {{"code", code && code->is_string() ? code->get_string() : "UPSTREAM_FAILED"},
                      {"message", m && m->is_string() ? m->get_string() : "the task failed"},
                      {"param", nullptr}});
                co_return out;
            }
        }
    }
    void on_disconnect() override { cur_.disconnect(); }
    bool ended() const override { return done_; }

  private:
    void emit(std::string& out, const char* type, json::object o) {
        o["type"] = type;
        o["sequence_number"] = seq_++;
        http::append_sse(out, type, json::serialize(o));
    }

    compat_ctx c_;
    event_cursor cur_;
    std::string text_;
    long long seq_ = 0;
    bool opened_ = false;
    bool done_ = false;
};

}  // namespace

api::api_result<compat_request> translate_responses_request(const json::object& in) {
    struct rule {
        const char* field;
        const char* why;
    };
    static constexpr rule refused[] = {
        {"tools",
         "tool calling through the Responses API is not supported; use "
         "/v1/chat/completions"},
        {"previous_response_id", "responses are not stored; send the conversation as input"},
        {"conversation", "conversations are not stored; send the conversation as input"},
        {"background", "background responses are not supported"},
    };
    for (const auto& r : refused) {
        auto* v = present(in, r.field);
        if (!v) continue;
        if ((v->is_bool() && !v->get_bool()) || (v->is_array() && v->get_array().empty())) continue;
        return bad(r.field, r.why);
    }
    if (auto* t = present(in, "text")) {
        auto* f = t->is_object() ? present(t->get_object(), "format") : nullptr;
        auto* type = f && f->is_object() ? f->get_object().if_contains("type") : nullptr;
        if (f && !(type && type->is_string() && type->get_string() == "text"))
            return bad("text.format", "only \"text\" is supported through the Responses API");
    }
    json::object chat;
    for (const char* k : {"model", "stream", "temperature", "top_p"})
        if (auto* v = in.if_contains(k)) chat[k] = *v;
    if (auto* v = present(in, "max_output_tokens")) chat["max_tokens"] = *v;
    json::array messages;
    if (auto* v = present(in, "instructions")) {
        if (!v->is_string()) return bad("instructions", "must be a string");
        messages.push_back(json::object{{"role", "system"}, {"content", *v}});
    }
    auto* input = present(in, "input");
    if (!input) return bad("input", "is required");
    if (input->is_string()) {
        messages.push_back(json::object{{"role", "user"}, {"content", *input}});
    } else if (input->is_array()) {
        size_t i = 0;
        for (const auto& item : input->get_array()) {
            auto f = "input[" + std::to_string(i++) + "]";
            auto* io = item.if_object();
            if (!io) return bad(f, "must be a message object");
            if (auto* type = present(*io, "type");
                type && !(type->is_string() && type->get_string() == "message"))
                return bad(f + ".type", "only message items are supported");
            auto* role = io->if_contains("role");
            if (!role || !role->is_string()) return bad(f + ".role", "must be a string");
            auto* content = io->if_contains("content");
            if (!content) return bad(f + ".content", "is required");
            auto text = item_text(*content, f + ".content");
            if (!text) return text.error();
            messages.push_back(json::object{{"role", *role}, {"content", *text}});
        }
    } else {
        return bad("input", "must be a string or an array of messages");
    }
    chat["messages"] = std::move(messages);
    return translate_request(chat, dialect::openai_chat);
}

std::string responses_answer(const compat_ctx& c, const std::string& text, const end_figures& e) {
    return json::serialize(response_object(c, &text, &e));
}

std::shared_ptr<http::body_stream> make_responses_stream(
    compat_ctx c, std::shared_ptr<http::body_stream> reader) {
    return std::make_shared<responses_stream>(std::move(c), std::move(reader));
}

}  // namespace llorch::orchestrator
