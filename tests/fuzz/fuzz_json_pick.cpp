// Engine chunks read by api::json_pick (once per token, from an engine's stream): any bytes never
// crash it, and whenever it accepts a text, Boost.JSON's DOM parse accepts it too and holds the
// same value at every picked path.
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/json_pick.h"

namespace {
namespace json = boost::json;
using llorch::api::json_pick;

const json::value* at_path(const json::value& root, std::string_view path) {
    const json::value* v = &root;
    while (!path.empty()) {
        auto dot = path.find('.');
        auto seg = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (auto* o = v->if_object()) {
            v = o->if_contains(json::string_view(seg.data(), seg.size()));
        } else if (auto* a = v->if_array()) {
            size_t i = 0;
            for (char c : seg) {
                if (c < '0' || c > '9') return nullptr;
                i = i * 10 + static_cast<size_t>(c - '0');
            }
            v = i < a->size() ? &(*a)[i] : nullptr;
        } else {
            return nullptr;
        }
        if (!v) return nullptr;
    }
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* paths[] = {
        "content", "stop", "timings.predicted_ms", "choices.0.delta.content", "choices.1",
        "error",   "a.0.b"};
    static json_pick pick({paths, paths + std::size(paths)});
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (!pick.parse(text)) return 0;
    json::error_code ec;
    auto dom = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec || !dom.is_object()) __builtin_trap();
    for (size_t i = 0; i < std::size(paths); ++i) {
        const auto* v = at_path(dom, paths[i]);
        const auto& p = pick[i];
        using kind = json_pick::kind;
        // With a duplicate key the DOM keeps the last value and the pick the last one seen: same.
        if (!v) {
            if (p.k != kind::absent) __builtin_trap();
            continue;
        }
        switch (v->kind()) {
            case json::kind::string:
                if (p.k != kind::string || p.text != std::string_view(v->get_string()))
                    __builtin_trap();
                break;
            case json::kind::bool_:
                if (p.k != kind::boolean || p.boolean != v->get_bool()) __builtin_trap();
                break;
            case json::kind::null:
                if (p.k != kind::null) __builtin_trap();
                break;
            case json::kind::int64:
            case json::kind::uint64:
                if (p.k != kind::integer) __builtin_trap();
                break;
            case json::kind::double_:
                if (p.k != kind::number || p.number != v->get_double()) __builtin_trap();
                break;
            case json::kind::object:
                if (p.k != kind::object) __builtin_trap();
                break;
            case json::kind::array:
                if (p.k != kind::array) __builtin_trap();
                break;
        }
    }
    return 0;
}
