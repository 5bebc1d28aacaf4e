#include "orchestrator/compat_responses.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "orchestrator/compat_errors.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {

using api::invalid_field;

// Responses tools ({type: "function", name, description, parameters}) and tool_choice ("none",
// "auto", "required", {type: "function", name}) in the chat form.
api::api_result<void> translate_responses_tools(const json::object& in, json::object& chat) {
    auto* tools = api::present_field(in, "tools");
    if (!tools) return {};
    if (!tools->is_array()) return invalid_field("tools", "must be an array of tools");
    json::array out;
    size_t i = 0;
    for (const auto& t : tools->get_array()) {
        auto f = "tools[" + std::to_string(i++) + "]";
        auto* to = t.if_object();
        auto* type = to ? to->if_contains("type") : nullptr;
        if (!type || !type->is_string() || type->get_string() != "function")
            return invalid_field(
                f + ".type",
                "only \"function\" tools are supported (built-in tools such as web search "
                "are not)");
        auto* name = to->if_contains("name");
        if (!name || !name->is_string() || name->get_string().empty())
            return invalid_field(f + ".name", "must be a non-empty string");
        json::object fn{{"name", *name}};
        for (const char* k : {"description", "parameters", "strict"})
            if (auto* v = api::present_field(*to, k)) fn[k] = *v;
        out.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    if (out.empty()) return {};
    chat["tools"] = std::move(out);
    if (auto* c = api::present_field(in, "tool_choice")) {
        if (c->is_object()) {
            auto* name = c->get_object().if_contains("name");
            if (!name || !name->is_string())
                return invalid_field("tool_choice.name", "must name one of the tools");
            chat["tool_choice"] =
                json::object{{"type", "function"}, {"function", json::object{{"name", *name}}}};
        } else {
            chat["tool_choice"] = *c;
        }
    }
    if (auto* p = api::present_field(in, "parallel_tool_calls")) chat["parallel_tool_calls"] = *p;
    return {};
}

// text.format: "text", "json_object", or {type: "json_schema", name, schema, strict} as the
// chat's response_format.
api::api_result<void> translate_format(const json::object& in, json::object& chat) {
    auto* t = api::present_field(in, "text");
    if (!t) return {};
    if (!t->is_object()) return invalid_field("text", "must be an object");
    auto* f = api::present_field(t->get_object(), "format");
    if (!f) return {};
    auto* fo = f->if_object();
    auto* type = fo ? fo->if_contains("type") : nullptr;
    if (!type || !type->is_string())
        return invalid_field("text.format.type",
                             "must be \"text\", \"json_object\" or \"json_schema\"");
    if (type->get_string() == "text") return {};
    if (type->get_string() == "json_object") {
        chat["response_format"] = json::object{{"type", "json_object"}};
        return {};
    }
    if (type->get_string() != "json_schema")
        return invalid_field("text.format.type",
                             "must be \"text\", \"json_object\" or \"json_schema\"");
    auto* schema = api::present_field(*fo, "schema");
    if (!schema || !schema->is_object())
        return invalid_field("text.format.schema", "must be a JSON schema");
    json::object js{{"name", fo->contains("name") ? fo->at("name") : json::value("output")},
                    {"schema", *schema}};
    if (auto* s = api::present_field(*fo, "strict")) js["strict"] = *s;
    chat["response_format"] = json::object{{"type", "json_schema"}, {"json_schema", std::move(js)}};
    return {};
}

// The input items as chat messages: messages; function_call items (the model's earlier calls,
// consecutive ones one assistant message) and function_call_output items (their results, as
// tool messages).
api::api_result<json::array> input_messages(const json::value& input, json::array messages) {
    if (input.is_string()) {
        messages.push_back(json::object{{"role", "user"}, {"content", input}});
        return messages;
    }
    if (!input.is_array()) return invalid_field("input", "must be a string or an array of items");
    size_t i = 0;
    for (const auto& item : input.get_array()) {
        auto f = "input[" + std::to_string(i++) + "]";
        auto* io = item.if_object();
        if (!io) return invalid_field(f, "must be an item object");
        auto* type = api::present_field(*io, "type");
        std::string_view kind =
            type && type->is_string() ? std::string_view(type->get_string()) : "message";
        if (kind == "function_call") {
            auto* id = io->if_contains("call_id");
            auto* name = io->if_contains("name");
            auto* args = io->if_contains("arguments");
            if (!id || !id->is_string() || id->get_string().empty())
                return invalid_field(f + ".call_id", "must be a non-empty string");
            if (!name || !name->is_string()) return invalid_field(f + ".name", "must be a string");
            if (!args || !args->is_string())
                return invalid_field(f + ".arguments", "must be a string");
            json::object call{{"id", *id},
                              {"type", "function"},
                              {"function", json::object{{"name", *name}, {"arguments", *args}}}};
            auto* last = messages.empty() ? nullptr : messages.back().if_object();
            if (last && last->at("role") == "assistant" && last->contains("tool_calls"))
                last->at("tool_calls").as_array().push_back(std::move(call));
            else
                messages.push_back(json::object{{"role", "assistant"},
                                                {"content", nullptr},
                                                {"tool_calls", json::array{std::move(call)}}});
            continue;
        }
        if (kind == "function_call_output") {
            auto* id = io->if_contains("call_id");
            auto* out = io->if_contains("output");
            if (!id || !id->is_string() || id->get_string().empty())
                return invalid_field(f + ".call_id", "must be a non-empty string");
            if (!out || !out->is_string()) return invalid_field(f + ".output", "must be a string");
            messages.push_back(
                json::object{{"role", "tool"}, {"tool_call_id", *id}, {"content", *out}});
            continue;
        }
        if (kind != "message")
            return invalid_field(f + ".type",
                                 "only message, function_call and function_call_output items are "
                                 "supported");
        auto* role = io->if_contains("role");
        if (!role || !role->is_string()) return invalid_field(f + ".role", "must be a string");
        auto* content = io->if_contains("content");
        if (!content) return invalid_field(f + ".content", "is required");
        auto text = parts_text(*content, f + ".content", {"input_text", "output_text"});
        if (!text) return text.error();
        messages.push_back(json::object{{"role", *role}, {"content", *text}});
    }
    return messages;
}

}  // namespace

api::api_result<compat_request> translate_responses_request(const json::object& in) {
    struct rule {
        const char* field;
        const char* why;
    };
    static constexpr rule refused[] = {
        {"previous_response_id", "responses are not stored; send the conversation as input"},
        {"conversation", "conversations are not stored; send the conversation as input"},
        {"background", "background responses are not supported"},
    };
    for (const auto& r : refused) {
        auto* v = api::present_field(in, r.field);
        if (!v) continue;
        if ((v->is_bool() && !v->get_bool()) || (v->is_array() && v->get_array().empty())) continue;
        return invalid_field(r.field, r.why);
    }
    json::object chat;
    for (const char* k : {"model", "stream", "temperature", "top_p"})
        if (auto* v = in.if_contains(k)) chat[k] = *v;
    if (auto* v = api::present_field(in, "max_output_tokens")) chat["max_tokens"] = *v;
    if (auto ok = translate_responses_tools(in, chat); !ok) return ok.error();
    if (auto ok = translate_format(in, chat); !ok) return ok.error();
    json::array messages;
    if (auto* v = api::present_field(in, "instructions")) {
        if (!v->is_string()) return invalid_field("instructions", "must be a string");
        messages.push_back(json::object{{"role", "system"}, {"content", *v}});
    }
    auto* input = api::present_field(in, "input");
    if (!input) return invalid_field("input", "is required");
    auto all = input_messages(*input, std::move(messages));
    if (!all) return all.error();
    chat["messages"] = std::move(*all);
    return translate_request(chat, dialect::openai_chat);
}

}  // namespace llorch::orchestrator
