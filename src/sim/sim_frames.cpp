#include "sim/sim_frames.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "http/sse.h"
#include "sim/ollama_frames.h"
#include "sim/token_text.h"

namespace llorch::sim {
namespace json = boost::json;

namespace {

std::optional<int> int_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return static_cast<int>(std::clamp<int64_t>(v->get_int64(), -1, 1 << 30));
    if (v->is_uint64()) return static_cast<int>(std::min<uint64_t>(v->get_uint64(), 1u << 30));
    if (v->is_double()) return static_cast<int>(std::clamp(v->get_double(), -1.0, 1e9));
    return std::nullopt;
}

bool bool_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_bool() && v->get_bool();
}

int count_prompt(const json::value& p) {
    if (p.is_string()) return token_text::count_prompt_tokens(p.get_string());
    if (p.is_array()) {
        const auto& a = p.get_array();
        // A list of token ids, or a list of prompts of which the first is generated.
        if (!a.empty() && a[0].is_string())
            return token_text::count_prompt_tokens(a[0].get_string());
        return static_cast<int>(a.size()) + 1;
    }
    return 1;
}

double per(double a, double b) { return b > 0 ? a / b : 0; }

// Timings are written by hand: Boost.JSON writes doubles as "5E1", llama-server as "50.0", and
// some clients compare the text. Every object that carries them has them last.
std::string with_timings(const json::object& o, const gen_summary& s, int prompt_n) {
    std::string out = json::serialize(o);
    out.pop_back();  // the closing brace
    fmt::format_to(std::back_inserter(out),
                   ",\"timings\":{{\"cache_n\":0,\"prompt_n\":{},\"prompt_ms\":{:.3f},"
                   "\"prompt_per_token_ms\":{:.3f},\"prompt_per_second\":{:.3f},\"predicted_n\":{},"
                   "\"predicted_ms\":{:.3f},\"predicted_per_token_ms\":{:.3f},"
                   "\"predicted_per_second\":{:.3f}}}}}",
                   prompt_n, s.prompt_ms, per(s.prompt_ms, prompt_n),
                   per(1000.0 * prompt_n, s.prompt_ms), s.tokens_predicted, s.predicted_ms,
                   per(s.predicted_ms, s.tokens_predicted),
                   per(1000.0 * s.tokens_predicted, s.predicted_ms));
    return out;
}

json::object usage_json(const gen_summary& s) {
    return json::object{
        {"completion_tokens", s.tokens_predicted},
        {"prompt_tokens", s.tokens_evaluated},
        {"total_tokens", s.tokens_predicted + s.tokens_evaluated},
        {"prompt_tokens_details", json::object{{"cached_tokens", 0}}},
    };
}

void append_data(std::string& out, std::string_view data) { http::append_sse(out, {}, data); }

}  // namespace

// A chat template adds a few tokens around every message.
int count_messages(const json::array& messages) {
    int n = 1;
    for (const auto& m : messages) {
        n += 4;
        if (const auto* o = m.if_object()) {
            if (const auto* c = o->if_contains("content"); c && c->is_string())
                n += token_text::count_prompt_tokens(c->get_string()) - 1;
        }
    }
    return n;
}

boost::system::result<gen_request, api_error> parse_gen_request(api_kind api,
                                                                std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return api_error{500, "parse error: " + ec.message(), "server_error"};
    const json::object* o = v.if_object();
    if (!o)
        return api_error{400, "the request body must be a JSON object", "invalid_request_error"};

    gen_request r;
    r.api = api;
    r.stream = bool_field(*o, "stream");
    r.ignore_eos = bool_field(*o, "ignore_eos");
    if (api == api_kind::chat) {
        const json::value* m = o->if_contains("messages");
        if (!m || !m->is_array()) {
            return api_error{400, "'messages' is required", "invalid_request_error"};
        }
        r.prompt_tokens = count_messages(m->get_array());
        r.n_predict = int_field(*o, "max_completion_tokens");
        if (!r.n_predict) r.n_predict = int_field(*o, "max_tokens");
        if (const auto* so = o->if_contains("stream_options"); so && so->is_object())
            r.include_usage = bool_field(so->get_object(), "include_usage");
    } else {
        const json::value* p = o->if_contains("prompt");
        if (!p) {
            return api_error{400, "[json.exception.out_of_range.403] key 'prompt' not found",
                             "invalid_request_error"};
        }
        r.prompt_tokens = count_prompt(*p);
        if (api == api_kind::text_completion) r.include_usage = true;
        r.n_predict = api == api_kind::completion ? int_field(*o, "n_predict") : std::nullopt;
        if (!r.n_predict) r.n_predict = int_field(*o, "max_tokens");
    }
    if (!r.n_predict) r.n_predict = int_field(*o, "n_predict");
    if (r.n_predict && *r.n_predict < 0) r.n_predict.reset();
    return r;
}

std::string error_body(const api_error& e) {
    return json::serialize(json::object{
        {"error", json::object{{"code", e.status}, {"message", e.message}, {"type", e.type}}}});
}

std::string middleware_error_body(int code, std::string_view message, std::string_view type) {
    return json::serialize(json::object{
        {"error", json::object{{"message", message}, {"type", type}, {"code", code}}}});
}

sim_frames::sim_frames(api_kind api, std::string model, std::string id, long long created,
                       bool include_usage, int tokens_evaluated)
    : api_(api),
      model_(std::move(model)),
      id_(std::move(id)),
      created_(created),
      include_usage_(include_usage),
      tokens_evaluated_(tokens_evaluated),
      created_at_(is_ollama(api) ? rfc3339(created) : std::string()) {}

void sim_frames::append_start(std::string& out) const {
    if (api_ != api_kind::chat) return;
    fmt::format_to(std::back_inserter(out),
                   "data: {{\"choices\":[{{\"finish_reason\":null,\"index\":0,\"delta\":{{\"role\":"
                   "\"assistant\",\"content\":null}}}}],\"created\":{},\"id\":{},\"model\":{},"
                   "\"system_fingerprint\":\"{}\",\"object\":\"chat.completion.chunk\"}}\n\n",
                   created_, json::serialize(json::string_view(id_)),
                   json::serialize(json::string_view(model_)), system_fingerprint);
}

// Token frames are the hot path (one per token per stream): formatted directly rather than
// built as JSON objects; only the strings go through the JSON serializer for escaping.
void sim_frames::append_token(std::string& out, std::string_view text, int token_id,
                              int tokens_predicted) const {
    if (is_ollama(api_)) return append_ollama_token(out, api_, model_, created_at_, text);
    const std::string quoted = json::serialize(json::string_view(text));
    auto it = std::back_inserter(out);
    switch (api_) {
        case api_kind::ollama_generate:
        case api_kind::ollama_chat:
            break;
        case api_kind::completion:
            fmt::format_to(it,
                           "data: {{\"index\":0,\"content\":{},\"tokens\":[{}],\"stop\":false,"
                           "\"id_slot\":-1,\"tokens_predicted\":{},\"tokens_evaluated\":{}}}\n\n",
                           quoted, token_id, tokens_predicted, tokens_evaluated_);
            break;
        case api_kind::chat:
            fmt::format_to(
                it,
                "data: {{\"choices\":[{{\"finish_reason\":null,\"index\":0,\"delta\":{{"
                "\"content\":{}}}}}],\"created\":{},\"id\":{},\"model\":{},"
                "\"system_fingerprint\":\"{}\",\"object\":\"chat.completion.chunk\"}}\n\n",
                quoted, created_, json::serialize(json::string_view(id_)),
                json::serialize(json::string_view(model_)), system_fingerprint);
            break;
        case api_kind::text_completion:
            fmt::format_to(
                it,
                "data: {{\"choices\":[{{\"text\":{},\"index\":0,\"logprobs\":null,"
                "\"finish_reason\":null}}],\"created\":{},\"model\":{},"
                "\"system_fingerprint\":\"{}\",\"object\":\"text_completion\",\"id\":{}}}"
                "\n\n",
                quoted, created_, json::serialize(json::string_view(model_)), system_fingerprint,
                json::serialize(json::string_view(id_)));
            break;
    }
}

void sim_frames::append_finish(std::string& out, const gen_summary& s) const {
    const std::string_view finish = s.eos ? "stop" : "length";
    switch (api_) {
        case api_kind::ollama_generate:
        case api_kind::ollama_chat:
            return append_ollama_final(out, api_, model_, created_at_, s, "");
        case api_kind::completion: {
            json::object o{
                {"index", 0},
                {"content", ""},
                {"tokens", json::array()},
                {"id_slot", s.slot},
                {"stop", true},
                {"model", model_},
                {"tokens_predicted", s.tokens_predicted},
                {"tokens_evaluated", s.tokens_evaluated},
                {"prompt", ""},
                {"has_new_line", false},
                {"truncated", false},
                {"stop_type", s.eos ? "eos" : "limit"},
                {"stopping_word", ""},
                {"tokens_cached", s.tokens_evaluated + s.tokens_predicted},
            };
            append_data(out, with_timings(o, s, s.tokens_evaluated));
            return;
        }
        case api_kind::chat: {
            json::object fin{
                {"choices",
                 json::array{json::object{
                     {"finish_reason", finish}, {"index", 0}, {"delta", json::object()}}}},
                {"created", created_},
                {"id", id_},
                {"model", model_},
                {"system_fingerprint", system_fingerprint},
                {"object", "chat.completion.chunk"},
            };
            if (!include_usage_) {
                append_data(out, with_timings(fin, s, s.tokens_evaluated));
            } else {
                append_data(out, json::serialize(fin));
                json::object usage{
                    {"choices", json::array()},
                    {"created", created_},
                    {"id", id_},
                    {"model", model_},
                    {"system_fingerprint", system_fingerprint},
                    {"object", "chat.completion.chunk"},
                    {"usage", usage_json(s)},
                };
                append_data(out, with_timings(usage, s, s.tokens_evaluated));
            }
            break;
        }
        case api_kind::text_completion: {
            json::object fin{
                {"choices", json::array{json::object{{"text", ""},
                                                     {"index", 0},
                                                     {"logprobs", nullptr},
                                                     {"finish_reason", finish}}}},
                {"created", created_},
                {"model", model_},
                {"system_fingerprint", system_fingerprint},
                {"object", "text_completion"},
                {"usage", usage_json(s)},
                {"id", id_},
            };
            append_data(out, with_timings(fin, s, s.tokens_evaluated));
            break;
        }
    }
    out += "data: [DONE]\n\n";
}

std::string sim_frames::whole(const gen_summary& s, std::string_view content) const {
    const std::string_view finish = s.eos ? "stop" : "length";
    switch (api_) {
        case api_kind::ollama_generate:
        case api_kind::ollama_chat: {
            std::string out;
            append_ollama_final(out, api_, model_, created_at_, s, content);
            out.pop_back();  // the line's newline: a whole body is one object
            return out;
        }
        case api_kind::completion:
            return with_timings(
                json::object{
                    {"index", 0},
                    {"content", content},
                    {"tokens", json::array()},
                    {"id_slot", s.slot},
                    {"stop", true},
                    {"model", model_},
                    {"tokens_predicted", s.tokens_predicted},
                    {"tokens_evaluated", s.tokens_evaluated},
                    {"prompt", ""},
                    {"has_new_line", content.find('\n') != std::string_view::npos},
                    {"truncated", false},
                    {"stop_type", s.eos ? "eos" : "limit"},
                    {"stopping_word", ""},
                    {"tokens_cached", s.tokens_evaluated + s.tokens_predicted},
                },
                s, s.tokens_evaluated);
        case api_kind::chat:
            return with_timings(
                json::object{
                    {"choices",
                     json::array{json::object{
                         {"finish_reason", finish},
                         {"index", 0},
                         {"message", json::object{{"role", "assistant"}, {"content", content}}}}}},
                    {"created", created_},
                    {"model", model_},
                    {"system_fingerprint", system_fingerprint},
                    {"object", "chat.completion"},
                    {"usage", usage_json(s)},
                    {"id", id_},
                },
                s, s.tokens_evaluated);
        case api_kind::text_completion:
            return with_timings(
                json::object{
                    {"choices", json::array{json::object{{"text", content},
                                                         {"index", 0},
                                                         {"logprobs", nullptr},
                                                         {"finish_reason", finish}}}},
                    {"created", created_},
                    {"model", model_},
                    {"system_fingerprint", system_fingerprint},
                    {"object", "text_completion"},
                    {"usage", usage_json(s)},
                    {"id", id_},
                },
                s, s.tokens_evaluated);
    }
    return {};
}

}  // namespace llorch::sim
