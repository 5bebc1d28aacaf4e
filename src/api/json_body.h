#pragma once
// Request bodies of the JSON API: one rule for every route that takes a body, and range-checked
// fields that arrive from the network.
//
// The rule: an empty body is an empty object (`POST .../drain` with no body is `{}`); any other
// body must be valid JSON and an object, or the request is INVALID_PARAMS. A route that needs a
// field then names the missing field, never the empty body.

#include <chrono>
#include <optional>
#include <string_view>

#include <boost/json/object.hpp>

#include "api/error.h"

namespace llorch::api {

// INVALID_PARAMS says what is wrong: bytes that are not UTF-8 (and where), JSON that does not
// parse (and where), or a value that is not an object.
api_result<boost::json::object> parse_json_body(std::string_view body);

// The offset of the first byte of `s` that is not part of valid UTF-8; nullopt when all is.
std::optional<size_t> utf8_error_offset(std::string_view s);

// A duration in milliseconds: absent (or null) → `fallback`; otherwise an integer within
// [min, max], or INVALID_PARAMS naming `key`. Checked before any arithmetic with it.
api_result<std::chrono::milliseconds> duration_ms_field(const boost::json::object& o,
                                                        std::string_view key,
                                                        std::chrono::milliseconds fallback,
                                                        std::chrono::milliseconds min,
                                                        std::chrono::milliseconds max);

// INVALID_PARAMS naming the field: "<field>: <what>".
error invalid_field(std::string_view field, std::string_view what);

// The field `key` of `o` when it is there and not null (OpenAI's bodies send null for "not set").
const boost::json::value* present_field(const boost::json::object& o, std::string_view key);

// A JSON number (integer or not) as a double; nullopt for any other value.
std::optional<double> json_number(const boost::json::value& v);

// A non-empty string field, or INVALID_PARAMS with `hint`. The view points into `o`, so `o` must
// outlive it (a temporary object is refused at compile time).
api_result<std::string_view> required_string_field(const boost::json::object& o,
                                                   std::string_view key, std::string_view hint);
api_result<std::string_view> required_string_field(boost::json::object&& o, std::string_view key,
                                                   std::string_view hint) = delete;

}  // namespace llorch::api
