#include "engines/upstream_models.h"

#include <algorithm>

#include <boost/json.hpp>

namespace llorch::engines {
namespace json = boost::json;

namespace {
// `name` from the entry's key, if a string.
void take(const json::object& entry, std::string_view key, std::vector<std::string>& out) {
    if (auto* v = entry.if_contains(key); v && v->is_string()) {
        std::string s(v->as_string());
        if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end())
            out.push_back(std::move(s));
    }
}

std::string_view untagged(std::string_view s) {
    constexpr std::string_view latest = ":latest";
    return s.ends_with(latest) ? s.substr(0, s.size() - latest.size()) : s;
}
}  // namespace

std::optional<std::vector<std::string>> parse_upstream_models(engine_kind_id kind,
                                                              std::string_view body) {
    if (kind == engine_kind_id::llamacpp) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* list =
        v.as_object().if_contains(kind == engine_kind_id::ollama ? "models" : "data");
    if (!list || !list->is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& e : list->as_array()) {
        if (!e.is_object()) continue;
        if (kind == engine_kind_id::ollama) {
            take(e.as_object(), "name", out);
            take(e.as_object(), "model", out);
        } else {
            take(e.as_object(), "id", out);
        }
    }
    return out;
}

bool lists_model(const std::vector<std::string>& listed, std::string_view model) {
    return std::any_of(listed.begin(), listed.end(), [&](const std::string& m) {
        return m == model || untagged(m) == untagged(model);
    });
}

}  // namespace llorch::engines
