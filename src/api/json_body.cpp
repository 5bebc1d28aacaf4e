#include "api/json_body.h"

#include <string>

#include <boost/json.hpp>

namespace llorch::api {
namespace json = boost::json;

namespace {
error invalid(std::string message) {
    return make_error(error_code::invalid_params, std::move(message));
}
}  // namespace

api_result<json::object> parse_json_body(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) return invalid("the request body is not valid JSON: " + ec.message());
    if (!v.is_object()) return invalid("the request body must be a JSON object");
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

}  // namespace llorch::api
