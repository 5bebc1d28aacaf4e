#include "api/flat_json.h"

#include <charconv>

#include "api/error.h"

namespace llorch::api {

void flat_json::key(std::string_view k) {
    if (out_.size() > 1) out_ += ',';
    out_ += '"';
    out_ += k;
    out_ += "\":";
}

flat_json& flat_json::str(std::string_view k, std::string_view value) {
    key(k);
    out_ += '"';
    append_json_escaped(out_, value);
    out_ += '"';
    return *this;
}

flat_json& flat_json::num(std::string_view k, long long value) {
    key(k);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, end);
    return *this;
}

flat_json& flat_json::null(std::string_view k) {
    key(k);
    out_ += "null";
    return *this;
}

}  // namespace llorch::api
