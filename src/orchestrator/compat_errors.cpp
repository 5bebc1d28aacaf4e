#include "orchestrator/compat_errors.h"

#include <cctype>

#include <boost/json.hpp>

namespace llorch::orchestrator {
namespace json = boost::json;

std::string_view error_param(const api::error& e) {
    if (e.code != api::error_code::invalid_params) return {};
    std::string_view m = e.message;
    auto colon = m.find(": ");
    if (colon == std::string_view::npos || colon == 0) return {};
    for (char c : m.substr(0, colon))
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' ||
              c == ']'))
            return {};
    return m.substr(0, colon);
}

api::error task_error_of(const json::object& o) {
    auto* code = o.if_contains("code");
    auto* msg = o.if_contains("message");
    return api::make_error(
        api::error_code_from_string(code && code->is_string() ? std::string_view(code->get_string())
                                                              : std::string_view())
            .value_or(api::error_code::upstream_failed),
        msg && msg->is_string() ? std::string(msg->get_string()) : "the task failed");
}

http::response openai_error(const api::error& e, std::string_view correlation_id) {
    int status = e.http_status();
    const char* type = status == 401   ? "authentication_error"
                       : status == 429 ? "rate_limit_error"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    auto param = error_param(e);
    json::object err{{"message", e.message},
                     {"type", type},
                     {"param", param.empty() ? json::value(nullptr) : json::value(param)},
                     {"code", api::to_string(e.code)}};
    auto r = http::response::from_error(e, correlation_id);
    r.body = json::serialize(json::object{{"error", std::move(err)}});
    return r;
}

http::response ollama_error(const api::error& e, std::string_view correlation_id) {
    auto r = http::response::from_error(e, correlation_id);
    r.body = json::serialize(json::object{{"error", e.message}});
    return r;
}

}  // namespace llorch::orchestrator
