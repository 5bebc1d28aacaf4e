#include "orchestrator/compat_request.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>

#include <boost/json.hpp>

#include "api/json_body.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {

using api::invalid_field;
using api::json_number;

// A number field within [lo, hi], copied to `out` under the same name.
api::api_result<void> ranged(const json::object& in, const char* k, double lo, double hi,
                             json::object& out, const std::string& prefix = {}) {
    auto* v = api::present_field(in, k);
    if (!v) return {};
    auto d = json_number(*v);
    if (!d || *d < lo || *d > hi)
        return invalid_field(prefix + k, "must be a number between " +
                                             json::serialize(json::value(lo)) + " and " +
                                             json::serialize(json::value(hi)));
    out[k] = *v;
    return {};
}

// Fields whose presence asks for something llama-orch does not do yet: refused by name.
api::api_result<void> refuse_unsupported(const json::object& in, dialect d) {
    auto truthy = [](const json::value* v) {
        if (!v) return false;
        if (v->is_bool()) return v->get_bool();
        if (v->is_array()) return !v->get_array().empty();
        if (v->is_string()) return !v->get_string().empty();
        return true;
    };
    struct rule {
        const char* field;
        const char* why;
    };
    static constexpr rule openai_rules[] = {
        {"functions", "the deprecated functions field is not supported; use tools"},
        {"function_call", "the deprecated function_call field is not supported; use tool_choice"},
        {"logprobs", "log probabilities are not supported yet"},
        {"top_logprobs", "log probabilities are not supported yet"},
        {"audio", "audio output is not supported"},
        {"prediction", "predicted outputs are not supported"},
        {"suffix", "insertion (suffix) is not supported"},
        {"echo", "echo is not supported"},
    };
    static constexpr rule ollama_rules[] = {
        {"images", "the model has no vision projector; images cannot be read"},
        {"template", "a custom template is not supported; the model's own chat template applies"},
        {"suffix", "insertion (suffix) is not supported"},
        {"context",
         "the context of an earlier answer is not kept; send the conversation to "
         "/api/chat instead"},
    };
    for (const auto& r :
         is_ollama(d) ? std::span<const rule>(ollama_rules) : std::span<const rule>(openai_rules)) {
        auto* v = api::present_field(in, r.field);
        if (!truthy(v)) continue;
        // `tool_choice: "none"`, `best_of: 1` and the like ask for nothing.
        return invalid_field(r.field, r.why);
    }
    if (!is_ollama(d)) {
        if (auto* v = api::present_field(in, "tools"); v && d == dialect::openai_text)
            return invalid_field("tools", "is a chat completions field; use /v1/chat/completions");
        if (auto* v = api::present_field(in, "best_of");
            v && !(v->is_int64() && v->get_int64() == 1))
            return invalid_field("best_of", "only 1 is supported");
        if (auto* v = api::present_field(in, "response_format"); v && d == dialect::openai_text)
            return invalid_field("response_format",
                                 "is a chat completions field; use "
                                 "/v1/chat/completions");
    }
    return {};
}

// OpenAI's content: a string, or an array of `text` parts.
api::api_result<std::string> content_text(const json::value& c, const std::string& field) {
    return parts_text(c, field, {"text"});
}

// One call of an assistant message's tool_calls (`f` names it): its `function` object, which
// names the function called.
api::api_result<const json::object*> called_function(const json::value& c, const std::string& f) {
    auto* co = c.if_object();
    auto* fn = co ? co->if_contains("function") : nullptr;
    auto* fo = fn ? fn->if_object() : nullptr;
    auto* name = fo ? fo->if_contains("name") : nullptr;
    if (!name || !name->is_string() || name->get_string().empty())
        return invalid_field(f + ".function.name", "must be the name of the function called");
    return fo;
}

// An assistant message's tool_calls: [{id, type: "function", function: {name, arguments}}].
api::api_result<void> check_tool_calls(const json::value& v, const std::string& field) {
    if (!v.is_array() || v.get_array().empty())
        return invalid_field(field, "must be a non-empty array");
    size_t j = 0;
    for (const auto& c : v.get_array()) {
        auto f = field + "[" + std::to_string(j++) + "]";
        auto fo = called_function(c, f);
        if (!fo) return fo.error();
        auto* args = (*fo)->if_contains("arguments");
        if (args && !args->is_null() && !args->is_string())
            return invalid_field(f + ".function.arguments", "must be a string of JSON");
    }
    return {};
}

// OpenAI's tools and tool_choice, checked and copied to the engine's fields. A tool_choice that
// names one function becomes that tool alone with tool_choice "required" (what llama-server
// understands; the meaning is the same).
api::api_result<void> translate_tools(const json::object& in, json::object& extra) {
    auto* tools = api::present_field(in, "tools");
    auto* choice = api::present_field(in, "tool_choice");
    if (auto* p = api::present_field(in, "parallel_tool_calls")) {
        if (!p->is_bool()) return invalid_field("parallel_tool_calls", "must be a boolean");
        if (tools) extra["parallel_tool_calls"] = *p;
    }
    if (!tools) {
        if (choice && !(choice->is_string() && choice->get_string() == "none"))
            return invalid_field("tool_choice", "needs tools to choose from");
        return {};
    }
    if (!tools->is_array()) return invalid_field("tools", "must be an array of tools");
    if (tools->get_array().empty()) return {};
    json::array kept;
    size_t i = 0;
    std::string forced;
    if (choice && choice->is_object()) {
        auto* fn = choice->get_object().if_contains("function");
        auto* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
        if (!name || !name->is_string())
            return invalid_field("tool_choice.function.name", "must name one of the tools");
        forced = name->get_string();
    } else if (choice && (!choice->is_string() ||
                          (choice->get_string() != "none" && choice->get_string() != "auto" &&
                           choice->get_string() != "required"))) {
        return invalid_field("tool_choice",
                             "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", "
                             "\"function\": {\"name\": ...}}");
    }
    for (const auto& t : tools->get_array()) {
        auto f = "tools[" + std::to_string(i++) + "]";
        auto* to = t.if_object();
        auto* type = to ? to->if_contains("type") : nullptr;
        if (!type || !type->is_string() || type->get_string() != "function")
            return invalid_field(f + ".type", "must be \"function\"");
        auto* fn = to->if_contains("function");
        auto* fo = fn ? fn->if_object() : nullptr;
        auto* name = fo ? fo->if_contains("name") : nullptr;
        if (!name || !name->is_string() || name->get_string().empty())
            return invalid_field(f + ".function.name", "must be a non-empty string");
        if (auto* p = fo->if_contains("parameters"); p && !p->is_null() && !p->is_object())
            return invalid_field(f + ".function.parameters", "must be a JSON schema object");
        if (forced.empty() || name->get_string() == forced) kept.push_back(t);
    }
    if (!forced.empty() && kept.empty())
        return invalid_field("tool_choice.function.name",
                             "'" + forced + "' is not one of the tools");
    extra["tools"] = std::move(kept);
    if (!forced.empty())
        extra["tool_choice"] = "required";
    else if (choice)
        extra["tool_choice"] = *choice;
    return {};
}

// Ollama's tool calls of an assistant message ({function: {name, arguments}}, the arguments an
// object) in OpenAI's form, each given the next id of the conversation; the calls still to be
// answered by tool messages are appended to `pending` as {id, name}.
api::api_result<json::array> ollama_tool_calls(
    const json::value& v, const std::string& field, int& next_id,
    std::vector<std::pair<std::string, std::string>>& pending) {
    if (!v.is_array() || v.get_array().empty())
        return invalid_field(field, "must be a non-empty array");
    json::array out;
    size_t j = 0;
    for (const auto& c : v.get_array()) {
        auto f = field + "[" + std::to_string(j++) + "]";
        auto fo = called_function(c, f);
        if (!fo) return fo.error();
        const auto& name = (*fo)->at("name");
        auto* args = (*fo)->if_contains("arguments");
        std::string args_text = "{}";
        if (args && args->is_object())
            args_text = json::serialize(*args);
        else if (args && args->is_string())
            args_text = args->get_string();
        else if (args && !args->is_null())
            return invalid_field(f + ".function.arguments", "must be an object");
        std::string id = "call_" + std::to_string(next_id++);
        pending.emplace_back(id, std::string(name.get_string()));
        out.push_back(
            json::object{{"id", id},
                         {"type", "function"},
                         {"function", json::object{{"name", name}, {"arguments", args_text}}}});
    }
    return out;
}

// Messages as the task API takes them ({role, content} strings), from OpenAI's or Ollama's.
api::api_result<json::array> messages_of(const json::value& v, dialect d) {
    if (!v.is_array()) return invalid_field("messages", "must be an array of messages");
    json::array out;
    size_t i = 0;
    // Ollama: the ids given to calls, and those not answered yet (a tool message answers the
    // first one, or the first of its tool_name).
    int next_call = 0;
    std::vector<std::pair<std::string, std::string>> pending;
    for (const auto& m : v.get_array()) {
        auto f = "messages[" + std::to_string(i++) + "]";
        auto* mo = m.if_object();
        if (!mo) return invalid_field(f, "must be an object with role and content");
        auto* role = mo->if_contains("role");
        if (!role || !role->is_string()) return invalid_field(f + ".role", "must be a string");
        std::string r(role->get_string());
        if (r == "developer") r = "system";
        bool tool_role = r == "tool";
        if (r == "function")
            return invalid_field(f + ".role",
                                 "'function' messages are deprecated; use 'tool' messages");
        if (r != "system" && r != "user" && r != "assistant" && !tool_role)
            return invalid_field(
                f + ".role",
                is_ollama(d)
                    ? "must be system, user, assistant or tool (got '" + r + "')"
                    : "must be system, developer, user, assistant or tool (got '" + r + "')");
        if (api::present_field(*mo, "function_call"))
            return invalid_field(f + ".function_call", "is deprecated; use tool_calls");
        json::object msg{{"role", r}};
        if (auto* tc = api::present_field(*mo, "tool_calls")) {
            if (r != "assistant")
                return invalid_field(f + ".tool_calls", "only assistant messages carry them");
            if (is_ollama(d)) {
                pending.clear();
                auto calls = ollama_tool_calls(*tc, f + ".tool_calls", next_call, pending);
                if (!calls) return calls.error();
                msg["tool_calls"] = std::move(*calls);
            } else {
                if (auto ok = check_tool_calls(*tc, f + ".tool_calls"); !ok) return ok.error();
                msg["tool_calls"] = *tc;
            }
        }
        if (tool_role && is_ollama(d)) {
            auto* tn = api::present_field(*mo, "tool_name");
            if (tn && !tn->is_string()) return invalid_field(f + ".tool_name", "must be a string");
            auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& p) {
                return !tn || p.second == tn->get_string();
            });
            if (it == pending.end())
                return invalid_field(
                    f + ".role",
                    "a tool message answers a call of an assistant message before it "
                    "(none is left to answer" +
                        std::string(tn ? " for '" + std::string(tn->get_string()) + "'" : "") +
                        ")");
            msg["tool_call_id"] = it->first;
            pending.erase(it);
        } else if (tool_role) {
            auto* id = api::present_field(*mo, "tool_call_id");
            if (!id || !id->is_string() || id->get_string().empty())
                return invalid_field(f + ".tool_call_id",
                                     "a tool message names the call it answers");
            msg["tool_call_id"] = *id;
        }
        if (is_ollama(d)) {
            if (auto* im = api::present_field(*mo, "images");
                im && im->is_array() && !im->get_array().empty())
                return invalid_field(f + ".images",
                                     "the model has no vision projector; images "
                                     "cannot be read");
        }
        auto* content = api::present_field(*mo, "content");
        std::string text;
        if (content) {
            auto t = content_text(*content, f + ".content");
            if (!t) return t.error();
            text = std::move(*t);
        } else if (r != "assistant") {
            return invalid_field(f + ".content", "is required for a " + r + " message");
        }
        if (!content && msg.contains("tool_calls"))
            msg["content"] = nullptr;
        else
            msg["content"] = text;
        out.push_back(std::move(msg));
    }
    return out;
}

// Ollama's keep_alive in milliseconds: a number of seconds, or a Go duration string ("5m",
// "1h30m", "300ms", "10s"; a bare number counts seconds); negative keeps the model loaded for
// good (-1). Absent: nullopt.
}  // namespace

api::api_result<std::optional<long long>> ollama_keep_alive_ms(const json::value* v) {
    if (!v) return std::optional<long long>{};
    auto done = [](double ms) -> std::optional<long long> {
        if (ms < 0) return -1;
        return static_cast<long long>(std::min(ms, 7.0 * 24 * 3600 * 1000));
    };
    if (auto n = json_number(*v)) return done(*n * 1000);
    const char* rule =
        "must be a duration such as \"5m\", \"1h30m\" or \"0\", or a number of seconds; a "
        "negative value keeps the model loaded";
    if (!v->is_string()) return invalid_field("keep_alive", rule);
    std::string_view s = v->get_string();
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return invalid_field("keep_alive", rule);
    double total = 0;
    while (!s.empty()) {
        size_t i = 0;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
        if (i == 0 || i > 20) return invalid_field("keep_alive", rule);
        double number = 0;
        try {
            number = std::stod(std::string(s.substr(0, i)));
        } catch (...) {
            return invalid_field("keep_alive", rule);
        }
        s.remove_prefix(i);
        size_t u = 0;
        while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
        auto unit = s.substr(0, u);
        s.remove_prefix(u);
        double scale = 0;
        if (unit.empty() && s.empty() && total == 0)
            scale = 1000;  // a bare number: seconds
        else if (unit == "h")
            scale = 3600e3;
        else if (unit == "m")
            scale = 60e3;
        else if (unit == "s")
            scale = 1e3;
        else if (unit == "ms")
            scale = 1;
        else if (unit == "us" || unit == "ns")
            scale = unit == "us" ? 1e-3 : 1e-6;
        else
            return invalid_field("keep_alive", rule);
        total += number * scale;
    }
    return done(negative ? -total : total);
}

namespace {

// Ollama's `format`: "json" or a JSON schema, as the engine's response_format (chat) or
// json_schema (raw prompt).
api::api_result<void> ollama_format(const json::object& in, bool chat, json::object& extra) {
    auto* f = api::present_field(in, "format");
    if (!f) return {};
    if (f->is_string() && f->get_string().empty()) return {};
    if (f->is_string() && f->get_string() != "json")
        return invalid_field("format", "must be \"json\" or a JSON schema object");
    if (!f->is_string() && !f->is_object())
        return invalid_field("format", "must be \"json\" or a JSON schema object");
    if (chat) {
        extra["response_format"] =
            f->is_string()
                ? json::value(json::object{{"type", "json_object"}})
                : json::value(json::object{
                      {"type", "json_schema"},
                      {"json_schema", json::object{{"name", "format"}, {"schema", *f}}}});
    } else {
        extra["json_schema"] = f->is_string() ? json::value(json::object{{"type", "object"}}) : *f;
    }
    return {};
}

api::api_result<void> translate_openai(const json::object& in, dialect d, compat_request& out) {
    auto& t = out.task_body;
    json::object extra;
    if (d == dialect::openai_chat) {
        auto* m = api::present_field(in, "messages");
        if (!m) return invalid_field("messages", "is required");
        auto msgs = messages_of(*m, d);
        if (!msgs) return msgs.error();
        if (msgs->empty()) return invalid_field("messages", "must not be empty");
        t["messages"] = std::move(*msgs);
        if (auto* rf = api::present_field(in, "response_format")) {
            auto* o = rf->if_object();
            auto* type = o ? o->if_contains("type") : nullptr;
            if (!type || !type->is_string() ||
                (type->get_string() != "text" && type->get_string() != "json_object" &&
                 type->get_string() != "json_schema"))
                return invalid_field("response_format.type",
                                     "must be \"text\", \"json_object\" or \"json_schema\"");
            if (type->get_string() != "text") extra["response_format"] = *rf;
        }
        if (auto r = translate_tools(in, extra); !r) return r.error();
    } else {
        auto* p = api::present_field(in, "prompt");
        if (!p) return invalid_field("prompt", "is required");
        if (p->is_array()) {
            const auto& a = p->get_array();
            if (a.size() != 1 || !a[0].is_string())
                return invalid_field("prompt",
                                     "one prompt per request: a string or an array of one "
                                     "string");
            t["prompt"] = a[0];
        } else if (p->is_string()) {
            t["prompt"] = *p;
        } else {
            return invalid_field("prompt", "must be a string");
        }
    }
    if (auto* mct = api::present_field(in, "max_completion_tokens");
        mct && !api::present_field(in, "max_tokens"))
        t["max_tokens"] = *mct;
    else if (auto* mt = api::present_field(in, "max_tokens"))
        t["max_tokens"] = *mt;
    for (const char* k : {"seed", "stop", "top_k", "ignore_eos"})
        if (auto* v = api::present_field(in, k)) t[k] = *v;
    if (auto r = ranged(in, "temperature", 0, 2, t); !r) return r.error();
    if (auto r = ranged(in, "top_p", 0, 1, t); !r) return r.error();
    for (const char* k : {"presence_penalty", "frequency_penalty"})
        if (auto r = ranged(in, k, -2, 2, extra); !r) return r.error();
    if (auto* v = api::present_field(in, "n")) {
        if (!v->is_int64() || v->get_int64() < 1)
            return invalid_field("n", "must be an integer >= 1");
        if (v->get_int64() > 1)
            return invalid_field("n", "only 1 choice per request is supported; send n requests");
    }
    if (auto* v = api::present_field(in, "logit_bias")) {
        if (!v->is_object())
            return invalid_field("logit_bias", "must be an object of token id: bias");
        for (const auto& kv : v->get_object()) {
            auto b = json_number(kv.value());
            if (!b || *b < -100 || *b > 100)
                return invalid_field("logit_bias", "biases must be numbers between -100 and 100");
        }
        if (!v->get_object().empty()) extra["logit_bias"] = *v;
    }
    if (auto* so = api::present_field(in, "stream_options")) {
        if (!out.stream)
            return invalid_field("stream_options", "is only allowed when stream is true");
        auto* o = so->if_object();
        if (!o) return invalid_field("stream_options", "must be an object");
        if (auto* iu = api::present_field(*o, "include_usage")) {
            if (!iu->is_bool())
                return invalid_field("stream_options.include_usage", "must be a boolean");
            out.include_usage = iu->get_bool();
        }
    }
    if (!extra.empty()) t["engine_params"] = std::move(extra);
    return {};
}

api::api_result<void> translate_ollama(const json::object& in, dialect d, compat_request& out) {
    auto& t = out.task_body;
    json::object extra;
    bool chat = d == dialect::ollama_chat;
    bool raw = false;
    if (auto* v = api::present_field(in, "raw")) {
        if (!v->is_bool()) return invalid_field("raw", "must be a boolean");
        raw = v->get_bool();
    }
    std::string system;
    if (auto* v = api::present_field(in, "system")) {
        if (!v->is_string()) return invalid_field("system", "must be a string");
        system = v->get_string();
    }
    bool nothing_to_do = false;
    if (chat) {
        auto* m = api::present_field(in, "messages");
        auto msgs = m ? messages_of(*m, d) : api::api_result<json::array>(json::array{});
        if (!msgs) return msgs.error();
        nothing_to_do = msgs->empty();
        t["messages"] = std::move(*msgs);
    } else {
        auto* p = api::present_field(in, "prompt");
        if (p && !p->is_string()) return invalid_field("prompt", "must be a string");
        std::string prompt = p ? std::string(p->get_string()) : std::string();
        nothing_to_do = prompt.empty();
        if (raw) {
            if (!system.empty())
                return invalid_field("system",
                                     "has no place in a raw prompt; put it in the prompt");
            t["prompt"] = prompt;
        } else {
            // Ollama formats a prompt with the model's chat template: a user turn, after the
            // system prompt when there is one.
            json::array msgs;
            if (!system.empty())
                msgs.push_back(json::object{{"role", "system"}, {"content", system}});
            msgs.push_back(json::object{{"role", "user"}, {"content", prompt}});
            t["messages"] = std::move(msgs);
        }
    }
    auto keep_alive = ollama_keep_alive_ms(api::present_field(in, "keep_alive"));
    if (!keep_alive) return keep_alive.error();
    out.keep_alive_ms = *keep_alive;
    if (*keep_alive) t["keep_alive_ms"] = **keep_alive;
    if (nothing_to_do) {
        out.ollama_idiom = keep_alive->value_or(-1) == 0 ? compat_request::idiom::unload
                                                         : compat_request::idiom::load;
        return {};
    }
    if (auto r = ollama_format(in, chat || !raw, extra); !r) return r.error();
    if (auto* tools = api::present_field(in, "tools");
        tools && tools->is_array() && !tools->get_array().empty()) {
        if (!chat) return invalid_field("tools", "tool calling needs /api/chat");
        if (auto r = translate_tools(in, extra); !r) return r.error();
    }
    if (auto* o = api::present_field(in, "options")) {
        if (!o->is_object()) return invalid_field("options", "must be an object");
        const auto& opts = o->get_object();
        if (auto* n = api::present_field(opts, "num_predict")) {
            if (!n->is_int64()) return invalid_field("options.num_predict", "must be an integer");
            // -1 (no limit) and -2 (fill the context) leave the pool's default in place.
            if (n->get_int64() > 0) t["max_tokens"] = *n;
        }
        for (const char* k : {"temperature", "top_p", "top_k", "seed", "stop"})
            if (auto* v = api::present_field(opts, k)) t[k] = *v;
        for (const char* k :
             {"presence_penalty", "frequency_penalty", "repeat_penalty", "min_p", "typical_p"})
            if (auto* v = api::present_field(opts, k)) {
                if (!json_number(*v))
                    return invalid_field(std::string("options.") + k, "must be a number");
                extra[k] = *v;
            }
    }
    if (auto* v = api::present_field(in, "ignore_eos")) t["ignore_eos"] = *v;
    if (!extra.empty()) t["engine_params"] = std::move(extra);
    return {};
}

}  // namespace

api::api_result<std::string> parts_text(const json::value& c, const std::string& field,
                                        std::initializer_list<std::string_view> text_types) {
    if (c.is_string()) return std::string(c.get_string());
    if (!c.is_array()) return invalid_field(field, "must be a string or an array of content parts");
    std::string out;
    size_t j = 0;
    for (const auto& p : c.get_array()) {
        auto f = field + "[" + std::to_string(j++) + "]";
        auto* po = p.if_object();
        auto* type = po ? po->if_contains("type") : nullptr;
        if (!type || !type->is_string())
            return invalid_field(f + ".type", "a content part is an object with a string 'type'");
        if (std::find(text_types.begin(), text_types.end(), std::string_view(type->get_string())) ==
            text_types.end())
            return invalid_field(f + ".type",
                                 "'" + std::string(type->get_string()) +
                                     "' parts are not supported: the model reads text only");
        auto* t = po->if_contains("text");
        if (!t || !t->is_string()) return invalid_field(f + ".text", "must be a string");
        if (!out.empty()) out += "\n";
        out += t->get_string();
    }
    return out;
}

std::string ollama_model_name(std::string_view name) {
    constexpr std::string_view latest = ":latest";
    if (name.size() > latest.size() && name.ends_with(latest)) name.remove_suffix(latest.size());
    return std::string(name);
}

api::api_result<compat_request> translate_request(const json::object& in, dialect d) {
    compat_request out;
    auto* model = in.if_contains("model");
    if (is_ollama(d) && (!model || model->is_null())) model = in.if_contains("name");
    if (!model || !model->is_string() || model->get_string().empty())
        return invalid_field("model", "name the model to run");
    out.model = model->get_string();
    out.task_body["model"] = is_ollama(d) ? ollama_model_name(out.model) : out.model;
    // Ollama streams unless told not to; OpenAI only when asked.
    out.stream = is_ollama(d);
    if (auto* st = api::present_field(in, "stream")) {
        if (!st->is_bool())
            return invalid_field("stream", "must be a boolean (true or false), not " +
                                               std::string(st->is_string() ? "a string" : "this"));
        out.stream = st->get_bool();
    }
    if (auto r = refuse_unsupported(in, d); !r) return r.error();
    auto r = is_ollama(d) ? translate_ollama(in, d, out) : translate_openai(in, d, out);
    if (!r) return r.error();
    return out;
}

}  // namespace llorch::orchestrator
