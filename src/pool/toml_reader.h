#pragma once
// Reads the values of one TOML table for a configuration file, with errors that name the key
// and its line: "pools[1].slots: must be at least 1 (got 0)". The first problem found becomes
// the error; later reads only check error(). Unknown keys are errors, with the nearest known
// key suggested. The reading half of the pools file; the rules are in pool_config_rules.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "pool/pool_config.h"

namespace llorch::pool {

// "a string", "an integer", ...: the kind of a TOML value, for messages.
std::string_view type_name(toml::node_type type);
int line_of(const toml::node& node);
// `"text"`, the way messages quote a value.
std::string in_quotes(std::string_view s);

class toml_table_reader {
  public:
    // `prefix` names the table in keys ("pools[1]"); `known_keys` are the keys it may hold.
    toml_table_reader(const toml::table& table, std::string prefix,
                      std::span<const std::string_view> known_keys)
        : table_(table), prefix_(std::move(prefix)), known_keys_(known_keys) {}

    const std::optional<config_error>& error() const { return error_; }

    // Records `prefix.key: what` at the node's line (the table's when null) unless an error is
    // already recorded; returns false.
    bool fail(std::string_view key, const toml::node* node, std::string_view what);

    const toml::node* find(std::string_view key) const { return table_.get(key); }

    bool check_unknown_keys();

    // nullopt when absent (not an error unless required) or on error (error() is then set).
    std::optional<std::string> string(std::string_view key, bool required);
    std::optional<int> integer(std::string_view key, int min, int max);
    std::optional<bool> boolean(std::string_view key);
    std::optional<std::vector<std::string>> strings(std::string_view key);

    // Fails when a key that only applies to other engines (`which`) is present.
    bool reject_for(std::string_view key, engine_kind engine, std::string_view which);

  private:
    const toml::table& table_;
    std::string prefix_;
    std::span<const std::string_view> known_keys_;
    std::optional<config_error> error_;
};

}  // namespace llorch::pool
