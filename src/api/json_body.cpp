#include "api/json_body.h"

#include <string>

#include <boost/json.hpp>

#include "api/json_duplicate_keys.h"

namespace llorch::api {
namespace json = boost::json;

namespace {
error invalid(std::string message) {
    return make_error(error_code::invalid_params, std::move(message));
}
}  // namespace

std::optional<size_t> utf8_error_offset(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return i;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return i;
        if (n == 2 && c < 0xC2) return i;
        i += n;
    }
    return std::nullopt;
}

api_result<json::object> parse_json_body(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
    if (auto at = utf8_error_offset(body))
        return invalid("the request body is not valid UTF-8 (byte " + std::to_string(*at) + " of " +
                       std::to_string(body.size()) + ")");
    boost::system::error_code ec;
    json::stream_parser p;
    size_t used = p.write_some(body.data(), body.size(), ec);
    if (!ec) p.finish(ec);
    if (ec)
        return invalid("the request body is not valid JSON: " + ec.message() + " (near byte " +
                       std::to_string(used) + " of " + std::to_string(body.size()) + ")");
    auto v = p.release();
    if (!v.is_object())
        return invalid(std::string("the request body must be a JSON object, not ") +
                       (v.is_array()    ? "an array"
                        : v.is_string() ? "a string"
                        : v.is_null()   ? "null"
                        : v.is_bool()   ? "a boolean"
                                        : "a number"));
    if (auto k = first_duplicate_key(body))
        return invalid("the request body has the key '" + *k +
                       "' twice in one object; send each key once");
    return std::move(v.get_object());
}

api_result<std::chrono::milliseconds> duration_ms_field(const json::object& o, std::string_view key,
                                                        std::chrono::milliseconds fallback,
                                                        std::chrono::milliseconds min,
                                                        std::chrono::milliseconds max) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return fallback;
    // A uint64 above INT64_MAX, a double or a string is never a duration we take.
    if (!v->is_int64() || v->get_int64() < min.count() || v->get_int64() > max.count())
        return invalid(std::string(key) + ": must be an integer number of milliseconds in [" +
                       std::to_string(min.count()) + ", " + std::to_string(max.count()) + "]");
    return std::chrono::milliseconds(v->get_int64());
}

api_result<std::string_view> required_string_field(const json::object& o, std::string_view key,
                                                   std::string_view hint) {
    auto* v = o.if_contains(key);
    if (!v || !v->is_string() || v->get_string().empty())
        return invalid(std::string(key) + ": " + std::string(hint));
    return std::string_view(v->get_string());
}

error invalid_field(std::string_view field, std::string_view what) {
    return make_error(error_code::invalid_params, std::string(field) + ": " + std::string(what));
}

const json::value* present_field(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

std::optional<double> json_number(const json::value& v) {
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return std::nullopt;
}

}  // namespace llorch::api
