#include "api/error.h"

#include <array>
#include <utility>

#include <boost/json.hpp>

namespace llorch::api {
namespace {
struct code_info {
    error_code code;
    std::string_view name;
    int status;
};
constexpr std::array<code_info, 24> codes{{
    {error_code::invalid_params, "INVALID_PARAMS", 400},
    {error_code::admission_reject, "ADMISSION_REJECT", 429},
    {error_code::queue_full_drop_lru, "QUEUE_FULL_DROP_LRU", 429},
    {error_code::pool_unready, "POOL_UNREADY", 503},
    {error_code::pool_unavailable, "POOL_UNAVAILABLE", 503},
    {error_code::replica_exhausted, "REPLICA_EXHAUSTED", 503},
    {error_code::decode_timeout, "DECODE_TIMEOUT", 504},
    {error_code::worker_reset, "WORKER_RESET", 502},
    {error_code::deadline_unmet, "DEADLINE_UNMET", 504},
    {error_code::model_not_available, "MODEL_NOT_AVAILABLE", 404},
    {error_code::node_unavailable, "NODE_UNAVAILABLE", 503},
    {error_code::missing_token, "MISSING_TOKEN", 401},
    {error_code::bad_token, "BAD_TOKEN", 401},
    {error_code::non_loopback_without_token, "NON_LOOPBACK_WITHOUT_TOKEN", 401},
    {error_code::internal, "INTERNAL", 500},
    {error_code::cancelled, "CANCELLED", 499},
    {error_code::upstream_failed, "UPSTREAM_FAILED", 502},
    {error_code::not_found, "NOT_FOUND", 404},
    {error_code::conflict, "CONFLICT", 409},
    {error_code::payload_too_large, "PAYLOAD_TOO_LARGE", 413},
    {error_code::method_not_allowed, "METHOD_NOT_ALLOWED", 405},
    {error_code::shutting_down, "SHUTTING_DOWN", 503},
    {error_code::forbidden, "FORBIDDEN", 403},
    {error_code::not_implemented, "NOT_IMPLEMENTED", 501},
}};
}  // namespace

std::string_view to_string(error_code c) {
    for (const auto& i : codes)
        if (i.code == c) return i.name;
    return "INTERNAL";
}

std::optional<error_code> error_code_from_string(std::string_view s) {
    for (const auto& i : codes)
        if (i.name == s) return i.code;
    return std::nullopt;
}

int http_status(error_code c) {
    for (const auto& i : codes)
        if (i.code == c) return i.status;
    return 500;
}

std::string to_json(const error& e, std::string_view correlation_id) {
    boost::json::object o;
    o["code"] = to_string(e.code);
    o["message"] = e.message;
    if (e.engine) o["engine"] = *e.engine;
    if (e.retriable) o["retriable"] = *e.retriable;
    if (e.retry_after_ms) o["retry_after_ms"] = *e.retry_after_ms;
    if (e.policy_label) o["policy_label"] = *e.policy_label;
    o["correlation_id"] = correlation_id;
    return boost::json::serialize(o);
}

// Runs of characters that need no escape are appended whole (most text is one run).
void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
}

}  // namespace llorch::api
