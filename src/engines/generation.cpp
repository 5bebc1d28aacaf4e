#include "engines/generation.h"

#include <algorithm>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "engines/embeddings.h"

namespace llorch::engines {
namespace json = boost::json;

namespace {
using api::invalid_field;
using api::json_number;
// A message of the task API: string role and content; an assistant message with tool_calls may
// have a null content, a tool message names the call it answers.
api::api_result<chat_message> parse_message(const json::value& x) {
    auto* xo = x.if_object();
    auto* role = xo ? xo->if_contains("role") : nullptr;
    if (!role || !role->is_string())
        return invalid_field("messages", "each message needs a string role");
    chat_message m;
    m.role = role->get_string();
    if (auto* tc = xo->if_contains("tool_calls"); tc && !tc->is_null()) {
        if (!tc->is_array() || tc->get_array().empty())
            return invalid_field("messages", "tool_calls must be a non-empty array");
        m.tool_calls = json::serialize(*tc);
    }
    auto* content = xo->if_contains("content");
    if (content && content->is_string()) {
        m.content = content->get_string();
    } else if ((!content || content->is_null()) && !m.tool_calls.empty()) {
        m.content_null = true;
    } else {
        return invalid_field("messages", "each message needs string role and content");
    }
    for (auto [key, out] : {std::pair{"tool_call_id", &m.tool_call_id}, {"name", &m.name}}) {
        auto* v = xo->if_contains(key);
        if (!v || v->is_null()) continue;
        if (!v->is_string())
            return invalid_field("messages", std::string(key) + " must be a string");
        *out = v->get_string();
    }
    if (m.role == "tool" && m.tool_call_id.empty())
        return invalid_field("messages", "a tool message needs the tool_call_id it answers");
    return m;
}

}  // namespace

json::object message_json(const chat_message& m) {
    json::object o{{"role", m.role}};
    if (m.content_null)
        o["content"] = nullptr;
    else
        o["content"] = m.content;
    if (!m.tool_calls.empty()) {
        boost::system::error_code ec;
        auto v = json::parse(m.tool_calls, ec);
        if (!ec) o["tool_calls"] = std::move(v);
    }
    if (!m.tool_call_id.empty()) o["tool_call_id"] = m.tool_call_id;
    if (!m.name.empty()) o["name"] = m.name;
    return o;
}

bool uses_tools(const generation_request& g) {
    for (const auto& m : g.messages)
        if (!m.tool_calls.empty() || m.role == "tool") return true;
    auto p = engine_params(g);
    auto* t = p.if_contains("tools");
    return t && t->is_array() && !t->get_array().empty();
}

std::optional<unsupported_field> field_unsupported_by(std::string_view engine,
                                                      const generation_request& g) {
    if (engine != "ollama" && engine != "sim") return std::nullopt;
    if (!uses_tools(g)) return std::nullopt;
    std::string why =
        "tool calling needs an engine that speaks OpenAI's chat format with tools "
        "(llamacpp or openai); the pool chosen runs '" +
        std::string(engine) + "'";
    auto p = engine_params(g);
    if (p.contains("tools")) return unsupported_field{"tools", why};
    for (size_t i = 0; i < g.messages.size(); ++i)
        if (!g.messages[i].tool_calls.empty() || g.messages[i].role == "tool")
            return unsupported_field{"messages[" + std::to_string(i) + "]" +
                                         (g.messages[i].role == "tool" ? ".role" : ".tool_calls"),
                                     why};
    return unsupported_field{"tools", why};
}

const std::vector<std::string_view>& engine_param_names() {
    static const std::vector<std::string_view> names{
        "presence_penalty", "frequency_penalty",  "repeat_penalty", "logit_bias", "min_p",
        "typical_p",        "response_format",    "json_schema",    "grammar",    "tools",
        "tool_choice",      "parallel_tool_calls"};
    return names;
}

bool valid_utf8(std::string_view s) { return !api::utf8_error_offset(s); }

api::api_result<generation_request> parse_generation(const json::object& o) {
    generation_request g;
    if (auto* p = o.if_contains("prompt"); p && !p->is_null()) {
        if (!p->is_string()) return invalid_field("prompt", "must be a string");
        g.prompt = std::string(p->get_string());
    } else if (auto* in = o.if_contains("inputs"); in && !in->is_null()) {
        if (!in->is_array()) return invalid_field("inputs", "must be an array of strings");
        std::string joined;
        for (const auto& x : in->get_array()) {
            if (!x.is_string()) return invalid_field("inputs", "must be an array of strings");
            if (!joined.empty()) joined += "\n";
            joined += x.get_string();
        }
        g.prompt = joined;
    }
    if (auto* m = o.if_contains("messages"); m && !m->is_null()) {
        if (!m->is_array()) return invalid_field("messages", "must be an array of {role, content}");
        for (const auto& x : m->get_array()) {
            auto r = parse_message(x);
            if (!r) return r.error();
            g.messages.push_back(std::move(*r));
        }
    }
    if (auto ok = parse_embed(o, g); !ok) return ok.error();
    if (!g.embed.empty() && (g.prompt || !g.messages.empty()))
        return invalid_field("embed", "asks for embeddings: leave out prompt, inputs and messages");
    if (!g.prompt && g.messages.empty() && g.embed.empty())
        return invalid_field("prompt", "give a prompt (or inputs[], or messages[], or embed[])");
    if (g.prompt && !valid_utf8(*g.prompt)) return invalid_field("prompt", "is not valid UTF-8");
    for (const auto& m : g.messages)
        if (!valid_utf8(m.content)) return invalid_field("messages", "content is not valid UTF-8");
    if (auto* v = o.if_contains("max_tokens"); v && !v->is_null()) {
        if (!v->is_int64() && !v->is_uint64())
            return invalid_field("max_tokens", "must be an integer");
        auto n = v->is_int64() ? v->get_int64() : static_cast<long long>(v->get_uint64());
        if (n < 1 || n > 1'000'000)
            return invalid_field("max_tokens", "must be between 1 and the pool's cap (got " +
                                                   std::to_string(n) + ")");
        g.max_tokens = static_cast<int>(n);
    }
    if (auto* v = o.if_contains("temperature"); v && !v->is_null()) {
        auto d = json_number(*v);
        if (!d || *d < 0 || *d > 100) return invalid_field("temperature", "must be a number >= 0");
        g.temperature = d;
    }
    if (auto* v = o.if_contains("top_p"); v && !v->is_null()) {
        auto d = json_number(*v);
        if (!d || *d < 0 || *d > 1) return invalid_field("top_p", "must be a number in [0, 1]");
        g.top_p = d;
    }
    if (auto* v = o.if_contains("top_k"); v && !v->is_null()) {
        if (!v->is_int64() || v->get_int64() < 0 || v->get_int64() > max_top_k)
            return invalid_field("top_k",
                                 "must be an integer from 0 to " + std::to_string(max_top_k));
        g.top_k = static_cast<int>(v->get_int64());
    }
    if (auto* v = o.if_contains("seed"); v && !v->is_null()) {
        if (!v->is_int64() && !v->is_uint64()) return invalid_field("seed", "must be an integer");
        g.seed = v->is_int64() ? v->get_int64() : static_cast<long long>(v->get_uint64());
    }
    if (auto* v = o.if_contains("stop"); v && !v->is_null()) {
        if (v->is_string()) {
            g.stop.emplace_back(v->get_string());
        } else if (v->is_array()) {
            for (const auto& s : v->get_array()) {
                if (!s.is_string())
                    return invalid_field("stop", "must be a string or array of strings");
                g.stop.emplace_back(s.get_string());
            }
        } else {
            return invalid_field("stop", "must be a string or array of strings");
        }
        if (g.stop.size() > max_stop_strings)
            return invalid_field("stop", "at most " + std::to_string(max_stop_strings) +
                                             " strings (got " + std::to_string(g.stop.size()) +
                                             ")");
        for (const auto& s : g.stop)
            if (s.size() > max_stop_bytes)
                return invalid_field(
                    "stop", "each string at most " + std::to_string(max_stop_bytes) + " bytes");
    }
    if (auto* v = o.if_contains("ignore_eos"); v && !v->is_null()) {
        if (!v->is_bool()) return invalid_field("ignore_eos", "must be a boolean");
        g.ignore_eos = v->get_bool();
    }
    if (auto* v = o.if_contains("engine_params"); v && !v->is_null()) {
        auto* ep = v->if_object();
        if (!ep) return invalid_field("engine_params", "must be an object");
        const auto& names = engine_param_names();
        for (const auto& kv : *ep)
            if (std::find(names.begin(), names.end(), kv.key()) == names.end())
                return invalid_field("engine_params." + std::string(kv.key()),
                                     "is not a field llama-orch passes to engines");
        if (g.messages.empty())
            for (const char* k : {"tools", "tool_choice", "parallel_tool_calls"})
                if (ep->contains(k))
                    return invalid_field("engine_params." + std::string(k),
                                         "tool calling needs a chat (messages), not a prompt");
        if (!ep->empty()) g.engine_params = json::serialize(*ep);
    }
    if (auto* v = o.if_contains("task_id"); v && v->is_string()) g.task_id = v->get_string();
    if (auto* v = o.if_contains("attempt"); v && v->is_int64())
        g.attempt = static_cast<int>(v->get_int64());
    return g;
}

void add_sampling(json::object& o, const generation_request& g) {
    if (g.temperature) o["temperature"] = *g.temperature;
    if (g.top_p) o["top_p"] = *g.top_p;
    if (g.top_k) o["top_k"] = *g.top_k;
    if (g.seed) o["seed"] = *g.seed;
    if (!g.stop.empty()) {
        json::array a;
        for (const auto& s : g.stop) a.push_back(json::value(s));
        o["stop"] = std::move(a);
    }
}

json::object engine_params(const generation_request& g) {
    if (g.engine_params.empty()) return {};
    boost::system::error_code ec;
    auto v = json::parse(g.engine_params, ec);
    if (ec || !v.is_object()) return {};
    return std::move(v.get_object());
}

std::string to_json(const generation_request& g) {
    json::object o;
    if (g.prompt) o["prompt"] = *g.prompt;
    if (!g.messages.empty()) {
        json::array a;
        for (const auto& m : g.messages) a.push_back(message_json(m));
        o["messages"] = std::move(a);
    }
    if (!g.embed.empty()) {
        json::array a;
        for (const auto& t : g.embed) a.push_back(json::value(t));
        o["embed"] = std::move(a);
    }
    if (g.max_tokens > 0) o["max_tokens"] = g.max_tokens;
    add_sampling(o, g);
    if (g.ignore_eos) o["ignore_eos"] = true;
    if (!g.engine_params.empty()) o["engine_params"] = engine_params(g);
    if (!g.task_id.empty()) o["task_id"] = g.task_id;
    o["attempt"] = g.attempt;
    return json::serialize(o);
}

}  // namespace llorch::engines
