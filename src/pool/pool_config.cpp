#include "pool/pool_config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "pool/pool_config_rules.h"
#include "pool/toml_reader.h"

namespace llorch::pool {
namespace {

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// The items of a comma-separated list, trimmed; empty items dropped.
std::vector<std::string_view> comma_items(std::string_view list) {
    std::vector<std::string_view> out;
    while (true) {
        const auto comma = list.find(',');
        if (const auto item = trim(list.substr(0, comma)); !item.empty()) out.push_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

config_error whole_file_error(std::string message, int line = 0, int column = 0) {
    return config_error{"", std::move(message), line, column};
}

}  // namespace

std::string_view to_string(engine_kind kind) {
    switch (kind) {
        case engine_kind::llamacpp:
            return "llamacpp";
        case engine_kind::openai:
            return "openai";
        case engine_kind::ollama:
            return "ollama";
        case engine_kind::sim:
            return "sim";
    }
    return "unknown";
}

std::optional<engine_kind> parse_engine_kind(std::string_view name) {
    for (auto kind :
         {engine_kind::llamacpp, engine_kind::openai, engine_kind::ollama, engine_kind::sim}) {
        if (to_string(kind) == name) return kind;
    }
    return std::nullopt;
}

bool is_managed(engine_kind kind) {
    return kind == engine_kind::llamacpp || kind == engine_kind::sim;
}

std::optional<std::vector<int>> parse_device(std::string_view device) {
    if (device == "cpu") return std::vector<int>{};
    constexpr std::string_view gpu_prefix = "gpu:";
    if (!device.starts_with(gpu_prefix)) return std::nullopt;
    auto rest = device.substr(gpu_prefix.size());
    std::vector<int> gpus;
    while (true) {
        const auto comma = rest.find(',');
        const auto part = trim(rest.substr(0, comma));
        int index = -1;
        const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
        if (part.empty() || ec != std::errc{} || ptr != part.data() + part.size() || index < 0 ||
            index > max_gpu_index || std::find(gpus.begin(), gpus.end(), index) != gpus.end()) {
            return std::nullopt;
        }
        gpus.push_back(index);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return gpus;
}

boost::system::result<std::vector<pool_config>, config_error> parse_pools_toml(
    std::string_view text) {
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return whole_file_error(fmt::format("TOML syntax error at line {}, column {}: {}",
                                            where.line, where.column, e.description()),
                                static_cast<int>(where.line), static_cast<int>(where.column));
    }

    std::vector<pool_config> pools;
    const auto* node = root.get("pools");
    if (node == nullptr) return pools;
    const auto* array = node->as_array();
    if (array == nullptr) {
        return config_error{"pools",
                            fmt::format("pools: must be an array of tables ([[pools]]) (got {})",
                                        type_name(node->type())),
                            line_of(*node), 0};
    }

    std::map<std::string, std::size_t, std::less<>> index_of_id;
    std::vector<std::pair<int, std::size_t>> port_ranges;  // (first port, pool index)
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto prefix = fmt::format("pools[{}]", i);
        const auto& element = *array->get(i);
        const auto* table = element.as_table();
        if (table == nullptr) {
            return config_error{prefix,
                                fmt::format("{}: must be a table ([[pools]]) (got {})", prefix,
                                            type_name(element.type())),
                                line_of(element), 0};
        }
        auto reader = pool_table_reader(*table, prefix);
        auto pool = read_pool(reader);
        if (!pool) return *reader.error();

        if (auto [it, inserted] = index_of_id.emplace(pool->id, i); !inserted) {
            reader.fail("id", table->get("id"),
                        fmt::format("duplicate pool id {} (also pools[{}])", in_quotes(pool->id),
                                    it->second));
            return *reader.error();
        }
        if (pool->port) {
            const int first = *pool->port;
            const int last = first + pool->replicas - 1;
            for (std::size_t j = 0; j < i; ++j) {
                const auto& other = pools[j];
                if (!other.port) continue;
                const int other_last = *other.port + other.replicas - 1;
                if (first <= other_last && *other.port <= last) {
                    reader.fail("port", table->get("port"),
                                fmt::format("{} overlaps the ports of pools[{}] ({} to {})", first,
                                            j, *other.port, other_last));
                    return *reader.error();
                }
            }
        }
        pools.push_back(std::move(*pool));
    }
    return pools;
}

boost::system::result<std::vector<pool_config>, config_error> load_pools_file(
    const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int saved = errno;
        return whole_file_error(fmt::format("{}: cannot read: {}", path.string(),
                                            std::generic_category().message(saved)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return whole_file_error(fmt::format("{}: cannot read", path.string()));
    }
    auto parsed = parse_pools_toml(text.str());
    if (parsed) return parsed;

    auto error = parsed.error();
    if (error.column > 0) {
        // "<path>:<line>:<column>: TOML syntax error: ...", as compilers write it.
        const auto colon = error.message.find(": ");
        error.message = fmt::format("{}:{}:{}: TOML syntax error: {}", path.string(), error.line,
                                    error.column, error.message.substr(colon + 2));
    } else if (error.line > 0) {
        error.message = fmt::format("{}:{}: {}", path.string(), error.line, error.message);
    } else {
        error.message = fmt::format("{}: {}", path.string(), error.message);
    }
    return error;
}

boost::system::result<std::vector<pool_config>, config_error> select_pools(
    std::vector<pool_config> pools, std::string_view comma_separated_ids) {
    const auto wanted = comma_items(comma_separated_ids);
    if (wanted.empty()) return pools;

    for (auto id : wanted) {
        const bool known = std::any_of(pools.begin(), pools.end(),
                                       [&](const pool_config& p) { return p.id == id; });
        if (!known) {
            std::string configured;
            for (const auto& p : pools) configured += (configured.empty() ? "" : ", ") + p.id;
            return config_error{
                "POOL_MANAGERD_POOLS",
                fmt::format("POOL_MANAGERD_POOLS: unknown pool id {} (configured: {})",
                            in_quotes(id), configured.empty() ? "none" : configured),
                0, 0};
        }
    }
    std::erase_if(pools, [&](const pool_config& p) {
        return std::find(wanted.begin(), wanted.end(), p.id) == wanted.end();
    });
    return pools;
}

boost::system::result<std::vector<pool_config>, config_error> add_node_labels(
    std::vector<pool_config> pools, std::string_view comma_separated_labels) {
    const auto labels = comma_items(comma_separated_labels);
    for (auto l : labels)
        if (!valid_model_name(l))
            return config_error{"POOL_MANAGERD_NODE_LABELS",
                                fmt::format("POOL_MANAGERD_NODE_LABELS: {} is not a label (1–256 "
                                            "bytes, no spaces or control characters)",
                                            in_quotes(l)),
                                0, 0};
    for (auto& p : pools)
        for (const auto& l : labels)
            if (std::find(p.labels.begin(), p.labels.end(), l) == p.labels.end())
                p.labels.emplace_back(l);
    return pools;
}

}  // namespace llorch::pool
