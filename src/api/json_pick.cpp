#include "api/json_pick.h"

#include <cstdint>
#include <limits>

#include <boost/json/basic_parser_impl.hpp>

namespace llorch::api {
namespace {
using json_error_code = boost::json::error_code;
using boost::json::string_view;

struct level {
    size_t len;  // length of the path of the object or array itself
    bool array;
    long long index = 0;  // the next element's index (arrays)
};

}  // namespace

// Keeps the current value's path as text and fills the wanted values; its buffers live as long
// as the json_pick, so a text allocates nothing once they have grown.
struct json_pick::state {
    const std::vector<std::string>* paths = nullptr;
    std::vector<value>* values = nullptr;
    std::vector<level> levels;
    std::string path;
    std::string key;
    value* string_target = nullptr;  // the wanted value a string in parts goes to
    bool in_string = false;
    bool root_is_object = false;

    void reset() {
        levels.clear();
        path.clear();
        key.clear();
        string_target = nullptr;
        in_string = false;
        root_is_object = false;
        for (auto& v : *values) {
            v.k = kind::absent;
            v.text.clear();
        }
    }
    // A value starts: the path of an array element is its index.
    void begin_value() {
        if (levels.empty() || !levels.back().array) return;
        auto& l = levels.back();
        path.resize(l.len);
        if (!path.empty()) path += '.';
        path += std::to_string(l.index++);
    }
    value* wanted() {
        for (size_t i = 0; i < paths->size(); ++i)
            if ((*paths)[i] == path) return &(*values)[i];
        return nullptr;
    }
    void scalar(kind k, long long i, double d, bool b) {
        begin_value();
        if (auto* v = wanted()) {
            v->k = k;
            v->integer = i;
            v->number = d;
            v->boolean = b;
        }
    }

    bool on_document_begin(json_error_code&) { return true; }
    bool on_document_end(json_error_code&) { return true; }
    bool on_object_begin(json_error_code&) {
        if (levels.empty() && path.empty()) root_is_object = true;
        begin_value();
        if (auto* v = wanted(); v && !levels.empty()) v->k = kind::object;
        levels.push_back({path.size(), false});
        return true;
    }
    bool on_object_end(std::size_t, json_error_code&) {
        levels.pop_back();
        return true;
    }
    bool on_array_begin(json_error_code&) {
        begin_value();
        if (auto* v = wanted(); v && !levels.empty()) v->k = kind::array;
        levels.push_back({path.size(), true});
        return true;
    }
    bool on_array_end(std::size_t, json_error_code&) {
        levels.pop_back();
        return true;
    }
    bool on_key_part(string_view s, std::size_t, json_error_code&) {
        key.append(s.data(), s.size());
        return true;
    }
    bool on_key(string_view s, std::size_t, json_error_code&) {
        key.append(s.data(), s.size());
        path.resize(levels.back().len);
        if (!path.empty()) path += '.';
        // An empty key, or one with a dot in it, is no segment of any wanted path: '\x01' stands
        // for it, so that {"choices.0": …} is not read as {"choices": [ … ]}, nor {"": {"a": 1}}
        // as {"a": 1}.
        if (!key.empty() && key.find('.') == std::string::npos)
            path += key;
        else
            path += '\x01';
        key.clear();
        forget_below();
        return true;
    }
    // A key given twice: its last value counts whole, as in the DOM parse, so what the earlier
    // value held below it is forgotten ({"a":{"b":1},"a":{}} has no "a.b").
    void forget_below() {
        for (size_t i = 0; i < paths->size(); ++i) {
            const auto& p = (*paths)[i];
            if (p.size() > path.size() && p[path.size()] == '.' && p.starts_with(path)) {
                (*values)[i].k = kind::absent;
                (*values)[i].text.clear();
            }
        }
    }
    bool on_string_part(string_view s, std::size_t, json_error_code&) {
        if (!in_string) {
            in_string = true;
            begin_value();
            string_target = wanted();
            if (string_target) {
                string_target->k = kind::string;
                string_target->text.clear();  // a key seen twice: the last value counts
            }
        }
        if (string_target) string_target->text.append(s.data(), s.size());
        return true;
    }
    bool on_string(string_view s, std::size_t n, json_error_code& ec) {
        on_string_part(s, n, ec);
        in_string = false;
        string_target = nullptr;
        return true;
    }
    bool on_number_part(string_view, json_error_code&) { return true; }
    bool on_int64(int64_t i, string_view, json_error_code&) {
        scalar(kind::integer, i, static_cast<double>(i), false);
        return true;
    }
    bool on_uint64(uint64_t u, string_view, json_error_code&) {
        scalar(kind::integer, static_cast<long long>(u), static_cast<double>(u), false);
        return true;
    }
    bool on_double(double d, string_view, json_error_code&) {
        scalar(kind::number, truncated(d), d, false);
        return true;
    }
    // A double outside long long's range (1e300, an overflow to infinity) saturates, and NaN reads
    // 0: converting them as they are is undefined.
    static long long truncated(double d) {
        constexpr double limit = 9223372036854775808.0;  // 2^63
        if (!(d == d)) return 0;
        if (d >= limit) return std::numeric_limits<long long>::max();
        if (d < -limit) return std::numeric_limits<long long>::min();
        return static_cast<long long>(d);
    }
    bool on_bool(bool b, json_error_code&) {
        scalar(kind::boolean, 0, 0, b);
        return true;
    }
    bool on_null(json_error_code&) {
        scalar(kind::null, 0, 0, false);
        return true;
    }
    bool on_comment_part(string_view, json_error_code&) { return true; }
    bool on_comment(string_view, json_error_code&) { return true; }
};

namespace {
// basic_parser's handler: forwards every event to the json_pick's state.
struct handler {
    static constexpr std::size_t max_object_size = -1;
    static constexpr std::size_t max_array_size = -1;
    static constexpr std::size_t max_key_size = -1;
    static constexpr std::size_t max_string_size = -1;
    json_pick::state* s;

    explicit handler(json_pick::state* st) : s(st) {}
    bool on_document_begin(json_error_code& ec) { return s->on_document_begin(ec); }
    bool on_document_end(json_error_code& ec) { return s->on_document_end(ec); }
    bool on_object_begin(json_error_code& ec) { return s->on_object_begin(ec); }
    bool on_object_end(std::size_t n, json_error_code& ec) { return s->on_object_end(n, ec); }
    bool on_array_begin(json_error_code& ec) { return s->on_array_begin(ec); }
    bool on_array_end(std::size_t n, json_error_code& ec) { return s->on_array_end(n, ec); }
    bool on_key_part(string_view k, std::size_t n, json_error_code& ec) {
        return s->on_key_part(k, n, ec);
    }
    bool on_key(string_view k, std::size_t n, json_error_code& ec) { return s->on_key(k, n, ec); }
    bool on_string_part(string_view v, std::size_t n, json_error_code& ec) {
        return s->on_string_part(v, n, ec);
    }
    bool on_string(string_view v, std::size_t n, json_error_code& ec) {
        return s->on_string(v, n, ec);
    }
    bool on_number_part(string_view, json_error_code&) { return true; }
    bool on_int64(int64_t i, string_view t, json_error_code& ec) { return s->on_int64(i, t, ec); }
    bool on_uint64(uint64_t u, string_view t, json_error_code& ec) {
        return s->on_uint64(u, t, ec);
    }
    bool on_double(double d, string_view t, json_error_code& ec) { return s->on_double(d, t, ec); }
    bool on_bool(bool b, json_error_code& ec) { return s->on_bool(b, ec); }
    bool on_null(json_error_code& ec) { return s->on_null(ec); }
    bool on_comment_part(string_view, json_error_code&) { return true; }
    bool on_comment(string_view, json_error_code&) { return true; }
};
}  // namespace

json_pick::json_pick(std::vector<std::string> paths)
    : paths_(std::move(paths)), values_(paths_.size()), state_(std::make_unique<state>()) {
    state_->paths = &paths_;
    state_->values = &values_;
}

json_pick::~json_pick() = default;

bool json_pick::parse(std::string_view text) {
    auto& h = *state_;
    h.reset();
    boost::json::basic_parser<handler> p{boost::json::parse_options{}, state_.get()};
    json_error_code ec;
    auto n = p.write_some(false, text.data(), text.size(), ec);
    // Only whitespace may follow the object.
    bool rest_blank = text.find_first_not_of(" \t\r\n", n) == std::string_view::npos;
    if (ec || !p.done() || !rest_blank || !h.root_is_object) {
        h.reset();
        return false;
    }
    return true;
}

}  // namespace llorch::api
