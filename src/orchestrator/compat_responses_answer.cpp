// The Responses API's answer: the `response` object (whole) and the `response.*` events
// (streamed), with a message item for the text and a function_call item per tool call, each
// opened when its first piece arrives.
#include <boost/json.hpp>

#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_responses.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {

std::string message_id(const compat_ctx& c) { return "msg_" + c.id.substr(5); }
std::string call_item_id(const compat_ctx& c, size_t i) {
    return "fc_" + c.id.substr(5) + "_" + std::to_string(i);
}

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

// A tool call (OpenAI's chat form, as add_tool_call_piece assembles it) as a function_call item.
json::object call_item(const compat_ctx& c, size_t i, const json::object& call, bool done) {
    const auto& fn = call.at("function").as_object();
    return json::object{{"id", call_item_id(c, i)},
                        {"type", "function_call"},
                        {"status", done ? "completed" : "in_progress"},
                        {"call_id", call.at("id")},
                        {"name", fn.at("name")},
                        {"arguments", done ? fn.at("arguments") : json::value("")}};
}

// The answer's items: the message when there is text (or nothing else), then the calls.
json::array output_items(const compat_ctx& c, const std::string& text, const json::array& calls) {
    json::array out;
    if (!text.empty() || calls.empty()) out.push_back(message_item(c, text, true));
    for (size_t i = 0; i < calls.size(); ++i)
        out.push_back(call_item(c, i, calls[i].as_object(), true));
    return out;
}

// The `response` object: in progress (no output yet) or done with the answer.
json::object response_object(const compat_ctx& c, const json::array* output,
                             const std::string* text, const end_figures* e) {
    json::object o{{"id", c.id},
                   {"object", "response"},
                   {"created_at", c.created},
                   {"model", c.model},
                   {"error", nullptr},
                   {"incomplete_details", nullptr},
                   {"tools", json::array{}},
                   {"parallel_tool_calls", false}};
    if (!output || !e) {
        o["status"] = "in_progress";
        o["output"] = json::array{};
        return o;
    }
    bool cut = e->finish_reason == "length";
    o["status"] = cut ? "incomplete" : "completed";
    if (cut) o["incomplete_details"] = json::object{{"reason", "max_output_tokens"}};
    o["output"] = *output;
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
            auto r = response_object(c_, nullptr, nullptr, nullptr);
            emit(out, "response.created", {{"response", r}});
            emit(out, "response.in_progress", {{"response", std::move(r)}});
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
                open_message(out);
                text_ += t->get_string();
                emit(out, "response.output_text.delta",
                     {{"item_id", message_id(c_)},
                      {"output_index", message_index_},
                      {"content_index", 0},
                      {"delta", t->get_string()}});
                co_return out;
            }
            if (ev->event == "tool_call") {
                on_call_piece(out, o);
                if (out.empty()) continue;
                co_return out;
            }
            if (ev->event == "end") {
                done_ = true;
                close(out, end_figures_of(o));
                co_return out;
            }
            if (ev->event == "error") {
                done_ = true;
                auto e = task_error_of(o);
                emit(
                    out, "error",
                    {{"code", api::to_string(e.code)}, {"message", e.message}, {"param", nullptr}});
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

    void open_message(std::string& out) {
        if (message_index_ >= 0) return;
        message_index_ = next_index_++;
        emit(out, "response.output_item.added",
             {{"output_index", message_index_}, {"item", message_item(c_, "", false)}});
        emit(
            out, "response.content_part.added",
            {{"item_id", message_id(c_)},
             {"output_index", message_index_},
             {"content_index", 0},
             {"part", json::object{
                          {"type", "output_text"}, {"text", ""}, {"annotations", json::array{}}}}});
    }

    // A piece of call k: the first opens its item; arguments come as deltas.
    void on_call_piece(std::string& out, const json::object& piece) {
        add_tool_call_piece(calls_, piece);
        while (call_index_.size() < calls_.size()) {
            const size_t k = call_index_.size();
            call_index_.push_back(next_index_++);
            emit(out, "response.output_item.added",
                 {{"output_index", call_index_[k]},
                  {"item", call_item(c_, k, calls_[k].as_object(), false)}});
        }
        auto* idx = piece.if_contains("index");
        auto* args = piece.if_contains("arguments");
        const auto k = idx && idx->is_int64() ? idx->get_int64() : 0;
        if (!args || !args->is_string() || args->get_string().empty() || k < 0 ||
            static_cast<size_t>(k) >= calls_.size())
            return;
        emit(out, "response.function_call_arguments.delta",
             {{"item_id", call_item_id(c_, static_cast<size_t>(k))},
              {"output_index", call_index_[static_cast<size_t>(k)]},
              {"delta", *args}});
    }

    void close(std::string& out, const end_figures& e) {
        if (message_index_ < 0 && calls_.empty()) open_message(out);
        if (message_index_ >= 0) {
            emit(out, "response.output_text.done",
                 {{"item_id", message_id(c_)},
                  {"output_index", message_index_},
                  {"content_index", 0},
                  {"text", text_}});
            emit(out, "response.content_part.done",
                 {{"item_id", message_id(c_)},
                  {"output_index", message_index_},
                  {"content_index", 0},
                  {"part",
                   json::object{
                       {"type", "output_text"}, {"text", text_}, {"annotations", json::array{}}}}});
            emit(out, "response.output_item.done",
                 {{"output_index", message_index_}, {"item", message_item(c_, text_, true)}});
        }
        std::vector<json::value> items(static_cast<size_t>(next_index_));
        if (message_index_ >= 0)
            items[static_cast<size_t>(message_index_)] = message_item(c_, text_, true);
        for (size_t k = 0; k < calls_.size(); ++k) {
            auto item = call_item(c_, k, calls_[k].as_object(), true);
            emit(out, "response.function_call_arguments.done",
                 {{"item_id", call_item_id(c_, k)},
                  {"output_index", call_index_[k]},
                  {"arguments", item.at("arguments")}});
            emit(out, "response.output_item.done",
                 {{"output_index", call_index_[k]}, {"item", item}});
            items[static_cast<size_t>(call_index_[k])] = std::move(item);
        }
        json::array output(items.begin(), items.end());
        emit(out, e.finish_reason == "length" ? "response.incomplete" : "response.completed",
             {{"response", response_object(c_, &output, &text_, &e)}});
    }

    compat_ctx c_;
    event_cursor cur_;
    std::string text_;
    json::array calls_;                  // the tool calls so far, in OpenAI's chat form
    std::vector<long long> call_index_;  // each call's output_index
    long long message_index_ = -1;       // the message item's output_index, once opened
    long long next_index_ = 0;
    long long seq_ = 0;
    bool opened_ = false;
    bool done_ = false;
};

}  // namespace

std::string responses_answer(const compat_ctx& c, const std::string& text, const json::array& calls,
                             const end_figures& e) {
    auto output = output_items(c, text, calls);
    return json::serialize(response_object(c, &output, &text, &e));
}

std::shared_ptr<http::body_stream> make_responses_stream(
    compat_ctx c, std::shared_ptr<http::body_stream> reader) {
    return std::make_shared<responses_stream>(std::move(c), std::move(reader));
}

}  // namespace llorch::orchestrator
