#include "api/json_duplicate_keys.h"

#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>

namespace llorch::api {
namespace {
using json_error_code = boost::json::error_code;
using boost::json::string_view;

// basic_parser's handler: keeps the keys of every open object (an array is an empty level).
struct key_checker {
    static constexpr std::size_t max_object_size = -1;
    static constexpr std::size_t max_array_size = -1;
    static constexpr std::size_t max_key_size = -1;
    static constexpr std::size_t max_string_size = -1;

    std::vector<std::optional<std::unordered_set<std::string>>> levels;
    std::string key;
    std::optional<std::string> duplicate;

    bool on_document_begin(json_error_code&) { return true; }
    bool on_document_end(json_error_code&) { return true; }
    bool on_array_begin(json_error_code&) {
        levels.emplace_back();
        return true;
    }
    bool on_array_end(std::size_t, json_error_code&) {
        levels.pop_back();
        return true;
    }
    bool on_object_begin(json_error_code&) {
        levels.emplace_back(std::unordered_set<std::string>{});
        return true;
    }
    bool on_object_end(std::size_t, json_error_code&) {
        levels.pop_back();
        return true;
    }
    bool on_string_part(string_view, std::size_t, json_error_code&) { return true; }
    bool on_string(string_view, std::size_t, json_error_code&) { return true; }
    bool on_key_part(string_view s, std::size_t, json_error_code&) {
        key.append(s.data(), s.size());
        return true;
    }
    bool on_key(string_view s, std::size_t, json_error_code& ec) {
        key.append(s.data(), s.size());
        if (!levels.empty() && levels.back() && !levels.back()->insert(key).second) {
            duplicate = key;
            ec = boost::json::error::extra_data;  // stops the parse
            return false;
        }
        key.clear();
        return true;
    }
    bool on_number_part(string_view, json_error_code&) { return true; }
    bool on_int64(int64_t, string_view, json_error_code&) { return true; }
    bool on_uint64(uint64_t, string_view, json_error_code&) { return true; }
    bool on_double(double, string_view, json_error_code&) { return true; }
    bool on_bool(bool, json_error_code&) { return true; }
    bool on_null(json_error_code&) { return true; }
    bool on_comment_part(string_view, json_error_code&) { return true; }
    bool on_comment(string_view, json_error_code&) { return true; }
};

}  // namespace

std::optional<std::string> first_duplicate_key(std::string_view json_text) {
    boost::json::basic_parser<key_checker> p{boost::json::parse_options{}};
    json_error_code ec;
    p.write_some(false, json_text.data(), json_text.size(), ec);
    return std::move(p.handler().duplicate);
}

}  // namespace llorch::api
