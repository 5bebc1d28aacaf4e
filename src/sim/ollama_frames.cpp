#include "sim/ollama_frames.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "sim/sim_frames.h"
#include "sim/token_text.h"

namespace llorch::sim {
namespace json = boost::json;

namespace {

long long ns(double ms) { return static_cast<long long>(ms * 1e6); }

api_error bad_request(std::string message) { return api_error{400, std::move(message), ""}; }

}  // namespace

std::string ollama_error_body(std::string_view message) {
    return json::serialize(json::object{{"error", message}});
}

std::string rfc3339(long long unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

boost::system::result<gen_request, api_error> parse_ollama_request(api_kind api,
                                                                   std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return bad_request("invalid character in the request body: " + ec.message());
    const json::object* o = v.if_object();
    if (!o) return bad_request("the request body must be a JSON object");
    gen_request r;
    r.api = api;
    const auto* model = o->if_contains("model");
    if (!model || !model->is_string() || model->get_string().empty())
        return bad_request("model is required");
    r.model = std::string(model->get_string());
    r.stream = true;
    if (const auto* s = o->if_contains("stream")) {
        if (!s->is_bool()) return bad_request("stream: must be a boolean");
        r.stream = s->get_bool();
    }
    if (const auto* opts = o->if_contains("options")) {
        if (!opts->is_object()) return bad_request("options: must be an object");
        if (const auto* n = opts->get_object().if_contains("num_predict")) {
            if (n->is_int64() && n->get_int64() >= 0)
                r.n_predict = static_cast<int>(std::min<int64_t>(n->get_int64(), 1 << 30));
            else if (n->is_uint64())
                r.n_predict = static_cast<int>(std::min<uint64_t>(n->get_uint64(), 1u << 30));
            else if (!n->is_int64())
                return bad_request("options.num_predict: must be an integer");
        }
    }
    if (api == api_kind::ollama_chat) {
        if (const auto* m = o->if_contains("messages")) {
            if (!m->is_array()) return bad_request("messages: must be an array");
            r.prompt_tokens = count_messages(m->get_array());
        }
    } else if (const auto* p = o->if_contains("prompt")) {
        if (!p->is_string()) return bad_request("prompt: must be a string");
        r.prompt_tokens = token_text::count_prompt_tokens(p->get_string());
    }
    return r;
}

void append_ollama_token(std::string& out, api_kind api, std::string_view model,
                         std::string_view created_at, std::string_view text) {
    const std::string quoted = json::serialize(json::string_view(text));
    const std::string m = json::serialize(json::string_view(model));
    if (api == api_kind::ollama_chat)
        fmt::format_to(std::back_inserter(out),
                       "{{\"model\":{},\"created_at\":\"{}\",\"message\":{{\"role\":\"assistant\","
                       "\"content\":{}}},\"done\":false}}\n",
                       m, created_at, quoted);
    else
        fmt::format_to(std::back_inserter(out),
                       "{{\"model\":{},\"created_at\":\"{}\",\"response\":{},\"done\":false}}\n", m,
                       created_at, quoted);
}

void append_ollama_final(std::string& out, api_kind api, std::string_view model,
                         std::string_view created_at, const gen_summary& s,
                         std::string_view content) {
    json::object o{{"model", model}, {"created_at", created_at}};
    if (api == api_kind::ollama_chat)
        o["message"] = json::object{{"role", "assistant"}, {"content", content}};
    else
        o["response"] = content;
    o["done"] = true;
    o["done_reason"] = s.eos ? "stop" : "length";
    if (api == api_kind::ollama_generate) o["context"] = json::array();
    o["total_duration"] = ns(s.prompt_ms + s.predicted_ms);
    o["load_duration"] = 0;
    o["prompt_eval_count"] = s.tokens_evaluated;
    o["prompt_eval_duration"] = ns(s.prompt_ms);
    o["eval_count"] = s.tokens_predicted;
    o["eval_duration"] = ns(s.predicted_ms);
    out += json::serialize(o);
    out += '\n';
}

std::string ollama_tags_body(const std::vector<std::string>& models, std::string_view modified_at) {
    json::array a;
    for (const auto& m : models) {
        const auto colon = m.find(':');
        a.push_back(json::object{
            {"name", m},
            {"model", m},
            {"modified_at", modified_at},
            {"size", 0},
            {"digest", ""},
            {"details",
             json::object{{"format", "gguf"},
                          {"family", colon == std::string::npos ? m : m.substr(0, colon)},
                          {"parameter_size", ""},
                          {"quantization_level", ""}}}});
    }
    return json::serialize(json::object{{"models", std::move(a)}});
}

}  // namespace llorch::sim
