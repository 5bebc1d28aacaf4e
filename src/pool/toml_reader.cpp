#include "pool/toml_reader.h"

#include <algorithm>

#include <fmt/format.h>

namespace llorch::pool {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string_view type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date or time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

std::string in_quotes(std::string_view s) { return fmt::format("\"{}\"", s); }

bool toml_table_reader::fail(std::string_view key, const toml::node* node, std::string_view what) {
    if (!error_) {
        auto full_key = key.empty() ? prefix_ : fmt::format("{}.{}", prefix_, key);
        auto message = fmt::format("{}: {}", full_key, what);
        error_ = config_error{std::move(full_key), std::move(message),
                              node != nullptr ? line_of(*node) : line_of(table_), 0};
    }
    return false;
}

bool toml_table_reader::check_unknown_keys() {
    for (auto&& [key, value] : table_) {
        const std::string_view name = key.str();
        if (std::find(known_keys_.begin(), known_keys_.end(), name) != known_keys_.end()) continue;
        std::string_view closest;
        std::size_t best = 3;  // suggest only near misses
        for (auto known : known_keys_) {
            if (const auto d = edit_distance(name, known); d < best) {
                best = d;
                closest = known;
            }
        }
        return fail(name, &value,
                    closest.empty() ? std::string("unknown key")
                                    : fmt::format("unknown key (did you mean \"{}\"?)", closest));
    }
    return true;
}

std::optional<std::string> toml_table_reader::string(std::string_view key, bool required) {
    const auto* node = find(key);
    if (node == nullptr) {
        if (required) fail(key, nullptr, "required");
        return std::nullopt;
    }
    if (const auto* s = node->as_string()) return s->get();
    fail(key, node, fmt::format("must be a string (got {})", type_name(node->type())));
    return std::nullopt;
}

std::optional<bool> toml_table_reader::boolean(std::string_view key) {
    const auto* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* b = node->as_boolean();
    if (b == nullptr) {
        fail(key, node, fmt::format("must be true or false (got {})", type_name(node->type())));
        return std::nullopt;
    }
    return b->get();
}

std::optional<int> toml_table_reader::integer(std::string_view key, int min, int max) {
    const auto* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* i = node->as_integer();
    if (i == nullptr) {
        fail(key, node, fmt::format("must be an integer (got {})", type_name(node->type())));
        return std::nullopt;
    }
    const int64_t value = i->get();
    if (value < min) {
        fail(key, node, fmt::format("must be at least {} (got {})", min, value));
        return std::nullopt;
    }
    if (value > max) {
        fail(key, node, fmt::format("must be at most {} (got {})", max, value));
        return std::nullopt;
    }
    return static_cast<int>(value);
}

std::optional<std::vector<std::string>> toml_table_reader::strings(std::string_view key) {
    const auto* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* array = node->as_array();
    if (array == nullptr) {
        fail(key, node,
             fmt::format("must be an array of strings (got {})", type_name(node->type())));
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& element = *array->get(i);
        const auto* s = element.as_string();
        if (s == nullptr) {
            fail(fmt::format("{}[{}]", key, i), &element,
                 fmt::format("must be a string (got {})", type_name(element.type())));
            return std::nullopt;
        }
        out.push_back(s->get());
    }
    return out;
}

bool toml_table_reader::reject_for(std::string_view key, engine_kind engine,
                                   std::string_view which) {
    if (const auto* node = find(key)) {
        return fail(
            key, node,
            fmt::format("not used by engine \"{}\" (only by {})", to_string(engine), which));
    }
    return true;
}

}  // namespace llorch::pool
