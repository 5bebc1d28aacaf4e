#include "loadgen/stream_protocol.h"

#include <boost/json.hpp>

#include "api/error.h"

namespace llorch::bench {
namespace json = boost::json;

std::string_view to_string(target_kind k) {
    switch (k) {
        case target_kind::orch:
            return "orch";
        case target_kind::orch_stream:
            return "orch-stream";
        case target_kind::pool:
            return "pool";
        case target_kind::llamacpp:
            return "llamacpp";
        case target_kind::openai_chat:
            return "openai-chat";
        case target_kind::openai_completions:
            return "openai-completions";
    }
    return "unknown";
}

std::optional<target_kind> parse_target_kind(std::string_view name) {
    for (auto k :
         {target_kind::orch, target_kind::orch_stream, target_kind::pool, target_kind::llamacpp,
          target_kind::openai_chat, target_kind::openai_completions})
        if (to_string(k) == name) return k;
    return std::nullopt;
}

namespace {

std::string quoted(std::string_view s) {
    std::string out = "\"";
    api::append_json_escaped(out, s);
    out += '"';
    return out;
}

// The fields every target shares, without the enclosing braces.
std::string common_fields(const request_shape& r, std::string_view tokens_key) {
    std::string b;
    b += quoted(tokens_key) + ":" + std::to_string(r.max_tokens);
    if (r.ignore_eos) b += ",\"ignore_eos\":true";
    return b;
}

const json::object* parse_object(std::string_view data, json::value& holder) {
    boost::system::error_code ec;
    holder = json::parse(data, ec);
    if (ec || !holder.is_object()) return nullptr;
    return &holder.get_object();
}

int int_of(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    if (!v) return -1;
    if (v->is_int64()) return static_cast<int>(v->get_int64());
    if (v->is_uint64()) return static_cast<int>(v->get_uint64());
    return -1;
}

std::string error_of(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_object()) {
        const auto& o = v.get_object();
        for (const char* k : {"code", "type", "message"})
            if (auto* x = o.if_contains(k)) {
                if (x->is_string()) return std::string(x->get_string());
                if (x->is_int64()) return "error_" + std::to_string(x->get_int64());
            }
    }
    return "error";
}

bool non_empty_string(const json::value* v) {
    return v && v->is_string() && !v->get_string().empty();
}

// llama-orch's own event streams (orch events and pool infer): named events.
stream_step interpret_llorch(const http::sse_event& e) {
    stream_step s;
    if (e.event == "token") {
        s.tokens = 1;
    } else if (e.event == "started") {
        json::value holder;
        if (auto* o = parse_object(e.data, holder))
            if (auto* p = o->if_contains("pool_id"); p && p->is_string())
                s.pool_id = std::string(p->get_string());
    } else if (e.event == "end") {
        s.done = true;
        json::value holder;
        if (auto* o = parse_object(e.data, holder)) s.tokens_reported = int_of(*o, "tokens_out");
    } else if (e.event == "error") {
        s.done = true;
        json::value holder;
        auto* o = parse_object(e.data, holder);
        s.error = o ? error_of(*o) : "error";
    }
    return s;
}

stream_step interpret_llamacpp(const http::sse_event& e) {
    stream_step s;
    json::value holder;
    auto* o = parse_object(e.data, holder);
    if (!o) {
        s.done = true;
        s.error = "bad_json";
        return s;
    }
    if (auto* err = o->if_contains("error")) {
        s.done = true;
        s.error = error_of(*err);
        return s;
    }
    if (non_empty_string(o->if_contains("content"))) s.tokens = 1;
    if (auto* stop = o->if_contains("stop"); stop && stop->is_bool() && stop->get_bool()) {
        s.done = true;
        s.tokens_reported = int_of(*o, "tokens_predicted");
    }
    return s;
}

stream_step interpret_openai(const http::sse_event& e, bool chat) {
    stream_step s;
    if (e.data == "[DONE]") {
        s.done = true;
        return s;
    }
    json::value holder;
    auto* o = parse_object(e.data, holder);
    if (!o) {
        s.done = true;
        s.error = "bad_json";
        return s;
    }
    if (auto* err = o->if_contains("error")) {
        s.done = true;
        s.error = error_of(*err);
        return s;
    }
    if (auto* ch = o->if_contains("choices"); ch && ch->is_array() && !ch->get_array().empty()) {
        const auto& c0 = ch->get_array()[0];
        if (c0.is_object()) {
            const auto& co = c0.get_object();
            if (chat) {
                if (auto* d = co.if_contains("delta"); d && d->is_object())
                    if (non_empty_string(d->get_object().if_contains("content"))) s.tokens = 1;
            } else if (non_empty_string(co.if_contains("text"))) {
                s.tokens = 1;
            }
        }
    }
    if (auto* u = o->if_contains("usage"); u && u->is_object())
        s.tokens_reported = int_of(u->get_object(), "completion_tokens");
    return s;
}

}  // namespace

http_call start_call(target_kind k, const request_shape& r, std::string_view task_id) {
    http_call c;
    switch (k) {
        case target_kind::orch:
        case target_kind::orch_stream:
            c.path = "/v2/tasks";
            c.body = "{\"model\":" + quoted(r.model) + ",\"prompt\":" + quoted(r.prompt) + "," +
                     common_fields(r, "max_tokens");
            if (!task_id.empty()) c.body += ",\"task_id\":" + quoted(task_id);
            c.body += "}";
            break;
        case target_kind::pool:
            c.path = "/v2/pools/" + r.pool_id + "/infer";
            c.body = "{\"prompt\":" + quoted(r.prompt) + "," + common_fields(r, "max_tokens");
            if (!task_id.empty()) c.body += ",\"task_id\":" + quoted(task_id);
            c.body += "}";
            break;
        case target_kind::llamacpp:
            c.path = "/completion";
            c.body = "{\"prompt\":" + quoted(r.prompt) + "," + common_fields(r, "n_predict") +
                     ",\"stream\":true}";
            break;
        case target_kind::openai_chat:
            c.path = "/v1/chat/completions";
            c.body = "{\"model\":" + quoted(r.model) +
                     ",\"messages\":[{\"role\":\"user\",\"content\":" + quoted(r.prompt) + "}]," +
                     common_fields(r, "max_tokens") + ",\"stream\":true}";
            break;
        case target_kind::openai_completions:
            c.path = "/v1/completions";
            c.body = "{\"model\":" + quoted(r.model) + ",\"prompt\":" + quoted(r.prompt) + "," +
                     common_fields(r, "max_tokens") + ",\"stream\":true}";
            break;
    }
    return c;
}

boost::system::result<std::string, protocol_error> events_path_from_submit(std::string_view body) {
    json::value holder;
    auto* o = parse_object(body, holder);
    if (!o)
        return protocol_error{protocol_errc::not_an_object,
                              "the answer to POST /v2/tasks is not a JSON object"};
    if (auto* v = o->if_contains("events_url"); v && v->is_string() && !v->get_string().empty())
        return std::string(v->get_string());
    if (auto* v = o->if_contains("task_id"); v && v->is_string() && !v->get_string().empty())
        return "/v2/tasks/" + std::string(v->get_string()) + "/events";
    return protocol_error{protocol_errc::no_task,
                          "the answer to POST /v2/tasks names neither events_url nor task_id"};
}

stream_step interpret(target_kind k, const http::sse_event& e) {
    switch (k) {
        case target_kind::orch:
        case target_kind::orch_stream:
        case target_kind::pool:
            return interpret_llorch(e);
        case target_kind::llamacpp:
            return interpret_llamacpp(e);
        case target_kind::openai_chat:
            return interpret_openai(e, true);
        case target_kind::openai_completions:
            return interpret_openai(e, false);
    }
    return {};
}

}  // namespace llorch::bench
