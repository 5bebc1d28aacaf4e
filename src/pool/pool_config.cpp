#include "pool/pool_config.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace llorch::pool {
namespace {

constexpr std::array<std::string_view, 16> known_keys = {
    "id",
    "engine",
    "model",
    "name",
    "device",
    "slots",
    "ctx",
    "threads",
    "replicas",
    "max_tokens_default",
    "max_tokens_cap",
    "extra_args",
    "port",
    "endpoint",
    "engine_path",
    "aliases",
};

constexpr int max_slots = 1024;
constexpr int min_ctx = 64;
constexpr int max_ctx = 1 << 20;
constexpr int max_threads = 1024;
constexpr int max_replicas = 64;
constexpr int max_gpu_index = 255;
constexpr std::size_t max_id_length = 64;
constexpr std::size_t max_name_length = 256;

// Engine arguments llama-orch sets itself, with the key to use instead.
struct reserved_flag {
    std::string_view flag;
    std::string_view instead;
};
constexpr std::array<reserved_flag, 18> reserved_flags = {{
    {"--host", "engines listen on loopback only"},
    {"--port", "use the port key"},
    {"--api-key", "each engine gets its own random key"},
    {"--api-key-file", "each engine gets its own random key"},
    {"-m", "use the model key"},
    {"--model", "use the model key"},
    {"-mu", "use the model key"},
    {"--model-url", "use the model key"},
    {"-hf", "use the model key"},
    {"-hfr", "use the model key"},
    {"--hf-repo", "use the model key"},
    {"-np", "use the slots key"},
    {"--parallel", "use the slots key"},
    {"-c", "use the ctx key"},
    {"--ctx-size", "use the ctx key"},
    {"-t", "use the threads key"},
    {"--threads", "use the threads key"},
    {"-a", "use the name and aliases keys"},
}};

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

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

bool valid_id(std::string_view id) {
    return !id.empty() && id.size() <= max_id_length &&
           std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
           });
}

// Model names travel in JSON and URLs and are compared exactly: no spaces or control
// characters, which would only ever be a mistake.
bool valid_model_name(std::string_view name) {
    return !name.empty() && name.size() <= max_name_length &&
           std::none_of(name.begin(), name.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u <= 0x20 || u == 0x7f;
           });
}

bool valid_endpoint(std::string_view url) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (url.starts_with(scheme)) {
            const auto rest = url.substr(scheme.size());
            return !rest.empty() && rest.front() != '/' &&
                   rest.find_first_of(" \t\r\n") == std::string_view::npos;
        }
    }
    return false;
}

std::string in_quotes(std::string_view s) { return fmt::format("\"{}\"", s); }

// Reads one [[pools]] table; the first problem found becomes the error.
class pool_reader {
  public:
    pool_reader(const toml::table& table, std::string prefix)
        : table_(table), prefix_(std::move(prefix)) {}

    const std::optional<config_error>& error() const { return error_; }

    bool fail(std::string_view key, const toml::node* node, std::string_view what) {
        if (!error_) {
            auto full_key = key.empty() ? prefix_ : fmt::format("{}.{}", prefix_, key);
            auto message = fmt::format("{}: {}", full_key, what);
            error_ = config_error{std::move(full_key), std::move(message),
                                  node != nullptr ? line_of(*node) : line_of(table_), 0};
        }
        return false;
    }

    const toml::node* find(std::string_view key) const { return table_.get(key); }

    bool check_unknown_keys() {
        for (auto&& [key, value] : table_) {
            const std::string_view name = key.str();
            if (std::find(known_keys.begin(), known_keys.end(), name) != known_keys.end()) continue;
            std::string_view closest;
            std::size_t best = 3;  // suggest only near misses
            for (auto known : known_keys) {
                if (const auto d = edit_distance(name, known); d < best) {
                    best = d;
                    closest = known;
                }
            }
            return fail(name, &value,
                        closest.empty()
                            ? std::string("unknown key")
                            : fmt::format("unknown key (did you mean \"{}\"?)", closest));
        }
        return true;
    }

    // nullopt when absent (not an error unless required) or on error (error() is then set).
    std::optional<std::string> string(std::string_view key, bool required) {
        const auto* node = find(key);
        if (node == nullptr) {
            if (required) fail(key, nullptr, "required");
            return std::nullopt;
        }
        if (const auto* s = node->as_string()) return s->get();
        fail(key, node, fmt::format("must be a string (got {})", type_name(node->type())));
        return std::nullopt;
    }

    std::optional<int> integer(std::string_view key, int min, int max) {
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

    std::optional<std::vector<std::string>> strings(std::string_view key) {
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

    // Fails when a key that only applies to other engines is present.
    bool reject_for(std::string_view key, engine_kind engine, std::string_view which) {
        if (const auto* node = find(key)) {
            return fail(
                key, node,
                fmt::format("not used by engine \"{}\" (only by {})", to_string(engine), which));
        }
        return true;
    }

  private:
    const toml::table& table_;
    std::string prefix_;
    std::optional<config_error> error_;
};

std::optional<std::string> check_extra_arg(std::string_view arg) {
    if (!arg.starts_with('-')) return std::nullopt;
    const auto flag = arg.substr(0, arg.find('='));
    for (const auto& reserved : reserved_flags) {
        if (flag == reserved.flag) {
            return fmt::format("\"{}\" is set by llama-orch ({})", reserved.flag, reserved.instead);
        }
    }
    return std::nullopt;
}

std::optional<pool_config> read_pool(pool_reader& r) {
    if (!r.check_unknown_keys()) return std::nullopt;
    pool_config pool;

    auto id = r.string("id", true);
    if (!id) return std::nullopt;
    if (!valid_id(*id)) {
        r.fail("id", r.find("id"),
               fmt::format("must be 1 to {} letters, digits, '.', '_' or '-' (got {})",
                           max_id_length, in_quotes(*id)));
        return std::nullopt;
    }
    pool.id = *id;

    auto engine_name = r.string("engine", true);
    if (!engine_name) return std::nullopt;
    auto engine = parse_engine_kind(*engine_name);
    if (!engine) {
        r.fail("engine", r.find("engine"),
               fmt::format("must be one of llamacpp, openai, ollama, sim (got {})",
                           in_quotes(*engine_name)));
        return std::nullopt;
    }
    pool.engine = *engine;
    const bool managed = is_managed(pool.engine);

    // Keys that belong to the other family of engines.
    if (managed) {
        if (!r.reject_for("endpoint", pool.engine, "openai and ollama")) return std::nullopt;
    } else {
        for (std::string_view key : {"engine_path", "extra_args", "port", "threads"}) {
            if (!r.reject_for(key, pool.engine, "llamacpp and sim")) return std::nullopt;
        }
    }

    const bool model_required = pool.engine == engine_kind::llamacpp;
    auto model = r.string("model", model_required);
    if (r.error()) return std::nullopt;
    if (model) {
        if (model->empty()) {
            r.fail("model", r.find("model"), "must not be empty");
            return std::nullopt;
        }
        pool.model = *model;
    }

    auto name = r.string("name", false);
    if (r.error()) return std::nullopt;
    if (name) {
        pool.name = *name;
    } else if (pool.model.empty()) {
        r.fail(
            "name", nullptr,
            fmt::format("required when model is absent (engine \"{}\")", to_string(pool.engine)));
        return std::nullopt;
    } else {
        pool.name = managed ? std::filesystem::path(pool.model).stem().string() : pool.model;
    }
    if (!valid_model_name(pool.name)) {
        r.fail(name ? "name" : "model", r.find(name ? "name" : "model"),
               fmt::format("model name must be 1 to {} characters without spaces or control "
                           "characters (got {})",
                           max_name_length, in_quotes(pool.name)));
        return std::nullopt;
    }

    auto device = r.string("device", false);
    if (r.error()) return std::nullopt;
    pool.device = device ? *device : (pool.engine == engine_kind::llamacpp ? "gpu:0" : "cpu");
    auto gpus = parse_device(pool.device);
    if (!gpus) {
        r.fail("device", r.find("device"),
               fmt::format("must be \"cpu\", \"gpu:N\" or \"gpu:N,M,...\" with distinct GPU "
                           "indexes from 0 to {} (got {})",
                           max_gpu_index, in_quotes(pool.device)));
        return std::nullopt;
    }
    pool.gpus = std::move(*gpus);

    if (auto v = r.integer("slots", 1, max_slots)) pool.slots = *v;
    if (auto v = r.integer("ctx", min_ctx, max_ctx)) pool.ctx = *v;
    if (auto v = r.integer("threads", 0, max_threads)) pool.threads = *v;
    if (auto v = r.integer("replicas", 1, managed ? max_replicas : 1)) pool.replicas = *v;
    if (r.error()) return std::nullopt;
    if (pool.slots % pool.replicas != 0) {
        r.fail("slots", r.find("slots"),
               fmt::format("must be a multiple of replicas, since slots are split evenly between "
                           "replicas (got {} slots for {} replicas)",
                           pool.slots, pool.replicas));
        return std::nullopt;
    }

    if (auto v = r.integer("max_tokens_cap", 1, max_ctx)) pool.max_tokens_cap = *v;
    if (r.error()) return std::nullopt;
    if (auto v = r.integer("max_tokens_default", 1, max_ctx)) {
        pool.max_tokens_default = *v;
        if (pool.max_tokens_default > pool.max_tokens_cap) {
            r.fail("max_tokens_default", r.find("max_tokens_default"),
                   fmt::format("must not exceed max_tokens_cap {} (got {})", pool.max_tokens_cap,
                               pool.max_tokens_default));
            return std::nullopt;
        }
    } else {
        pool.max_tokens_default = std::min(pool.max_tokens_default, pool.max_tokens_cap);
    }
    if (r.error()) return std::nullopt;

    if (auto args = r.strings("extra_args")) {
        for (std::size_t i = 0; i < args->size(); ++i) {
            if (auto problem = check_extra_arg((*args)[i])) {
                r.fail(fmt::format("extra_args[{}]", i), r.find("extra_args"), *problem);
                return std::nullopt;
            }
        }
        pool.extra_args = std::move(*args);
    }
    if (r.error()) return std::nullopt;

    if (auto v = r.integer("port", 1, 65535)) {
        if (*v + pool.replicas - 1 > 65535) {
            r.fail("port", r.find("port"),
                   fmt::format("leaves no room for {} replicas, which use port to port + {} "
                               "(got {})",
                               pool.replicas, pool.replicas - 1, *v));
            return std::nullopt;
        }
        pool.port = *v;
    }
    if (r.error()) return std::nullopt;

    auto endpoint = r.string("endpoint", !managed);
    if (r.error()) return std::nullopt;
    if (endpoint) {
        if (!valid_endpoint(*endpoint)) {
            r.fail(
                "endpoint", r.find("endpoint"),
                fmt::format("must be an http:// or https:// URL (got {})", in_quotes(*endpoint)));
            return std::nullopt;
        }
        pool.endpoint = *endpoint;
        while (pool.endpoint.ends_with('/')) pool.endpoint.pop_back();
    }

    if (auto path = r.string("engine_path", false)) {
        if (path->empty()) {
            r.fail("engine_path", r.find("engine_path"), "must not be empty");
            return std::nullopt;
        }
        pool.engine_path = *path;
    }
    if (r.error()) return std::nullopt;

    if (auto aliases = r.strings("aliases")) {
        for (std::size_t i = 0; i < aliases->size(); ++i) {
            const auto& alias = (*aliases)[i];
            const auto key = fmt::format("aliases[{}]", i);
            if (!valid_model_name(alias)) {
                r.fail(key, r.find("aliases"),
                       fmt::format("model name must be 1 to {} characters without spaces or "
                                   "control characters (got {})",
                                   max_name_length, in_quotes(alias)));
                return std::nullopt;
            }
            if (alias == pool.name ||
                std::find(aliases->begin(), aliases->begin() + static_cast<std::ptrdiff_t>(i),
                          alias) != aliases->begin() + static_cast<std::ptrdiff_t>(i)) {
                r.fail(key, r.find("aliases"),
                       fmt::format("repeats the model name {}", in_quotes(alias)));
                return std::nullopt;
            }
        }
        pool.aliases = std::move(*aliases);
    }
    if (r.error()) return std::nullopt;
    return pool;
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
        pool_reader reader(*table, prefix);
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
    std::vector<std::string_view> wanted;
    auto rest = comma_separated_ids;
    while (true) {
        const auto comma = rest.find(',');
        if (const auto id = trim(rest.substr(0, comma)); !id.empty()) wanted.push_back(id);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
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

}  // namespace llorch::pool
