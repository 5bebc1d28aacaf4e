#pragma once
// Whether a JSON text has an object with the same key twice. A DOM parse keeps the last value
// silently, so `{"model":"a","model":"b"}` would run "b" while a reader of the request sees
// "a"; request bodies with a duplicate key are refused instead (see parse_json_body).
// Cost: one extra pass over the text, with a hash set of the keys of each open object.

#include <optional>
#include <string>
#include <string_view>

namespace llorch::api {

// The first key found twice in one object, or nullopt (also for a text that is not valid JSON:
// the real parse reports that).
std::optional<std::string> first_duplicate_key(std::string_view json_text);

}  // namespace llorch::api
