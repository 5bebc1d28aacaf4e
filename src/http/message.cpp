#include "http/message.h"

#include <algorithm>
#include <cctype>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace llorch::http {

std::optional<std::string_view> header_list::find(std::string_view name) const {
    for (const auto& [k, v] : items_) {
        if (k.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < k.size() && same; ++i)
            same = std::tolower(static_cast<unsigned char>(k[i])) ==
                   std::tolower(static_cast<unsigned char>(name[i]));
        if (same) return std::string_view(v);
    }
    return std::nullopt;
}

namespace {
int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int a = hexval(s[i + 1]);
            int b = hexval(s[i + 2]);
            if (a >= 0 && b >= 0) {
                out += static_cast<char>(a * 16 + b);
                i += 2;
                continue;
            }
        }
        out += plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
    return out;
}

std::string percent_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::optional<std::string> request::query_param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        auto amp = q.find('&');
        auto kv = q.substr(0, amp);
        auto eq = kv.find('=');
        auto k = kv.substr(0, eq);
        if (percent_decode(k, true) == name)
            return eq == std::string_view::npos ? std::string()
                                                : percent_decode(kv.substr(eq + 1), true);
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

response response::from_error(const api::error& e, std::string_view correlation_id) {
    response r = json(e.http_status(), api::to_json(e, correlation_id));
    if (e.retry_after_ms) {
        long long ms = *e.retry_after_ms;
        r.headers.add("Retry-After", std::to_string(std::max<long long>(1, (ms + 999) / 1000)));
        r.headers.add("X-Backoff-Ms", std::to_string(ms));
    }
    return r;
}

response response::json(int status, const boost::json::object& body) {
    return json(status, boost::json::serialize(body));
}

response error_reply(const api::error& e, const request& q) {
    return response::from_error(e, q.correlation_id);
}

std::string origin_form(std::string_view target) {
    if (target.starts_with("/")) return std::string(target);
    auto scheme = target.find("://");
    if (scheme == std::string_view::npos) return std::string(target);
    auto path = target.find_first_of("/?", scheme + 3);
    if (path == std::string_view::npos) return "/";
    std::string out(target.substr(path));
    if (out.starts_with("?")) out.insert(out.begin(), '/');
    return out;
}

}  // namespace llorch::http
