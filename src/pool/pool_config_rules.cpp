#include "pool/pool_config_rules.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include <fmt/format.h>

namespace llorch::pool {
namespace {

constexpr std::array<std::string_view, 23> known_keys = {
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
    "labels",
    "weight",
    "embeddings",
    "pooling",
    "on_demand",
    "idle_ttl_secs",
    "memory_mib",
};

constexpr int max_slots = 1024;
constexpr int min_ctx = 64;
constexpr int max_ctx = 1 << 20;
constexpr int max_threads = 1024;
constexpr int max_replicas = 64;
constexpr std::size_t max_id_length = 64;
constexpr std::size_t max_name_length = 256;

// Engine arguments llama-orch sets itself, with the key to use instead.
struct reserved_flag {
    std::string_view flag;
    std::string_view instead;
};
constexpr std::array<reserved_flag, 20> reserved_flags = {{
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
    {"--embeddings", "use the embeddings key"},
    {"--pooling", "use the pooling key"},
}};

// `embeddings` (the pool also answers embedding requests) and `pooling` (how llama-server folds
// a text's token vectors into one: mean, cls, last or rank; absent: the model's own, else mean).
bool read_embeddings(toml_table_reader& r, pool_config& pool) {
    if (auto v = r.boolean("embeddings")) pool.embeddings = *v;
    if (r.error()) return false;
    if (pool.embeddings && pool.engine == engine_kind::sim)
        return r.fail("embeddings", r.find("embeddings"),
                      "the sim engine computes no embeddings (use llamacpp, openai or ollama)");
    auto pooling = r.string("pooling", false);
    if (r.error()) return false;
    if (!pooling) return true;
    if (!pool.embeddings)
        return r.fail("pooling", r.find("pooling"), "only applies with embeddings = true");
    if (pool.engine != engine_kind::llamacpp)
        return r.fail("pooling", r.find("pooling"),
                      fmt::format("only applies to llamacpp pools (the {} server pools itself)",
                                  to_string(pool.engine)));
    if (*pooling != "mean" && *pooling != "cls" && *pooling != "last" && *pooling != "rank")
        return r.fail(
            "pooling", r.find("pooling"),
            fmt::format("must be one of mean, cls, last, rank (got {})", in_quotes(*pooling)));
    pool.pooling = *pooling;
    return true;
}

bool valid_id(std::string_view id) {
    return !id.empty() && id.size() <= max_id_length &&
           std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
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

}  // namespace

// Model names travel in JSON and URLs and are compared exactly: no spaces or control
// characters, which would only ever be a mistake.
bool valid_model_name(std::string_view name) {
    return !name.empty() && name.size() <= max_name_length &&
           std::none_of(name.begin(), name.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u <= 0x20 || u == 0x7f;
           });
}

toml_table_reader pool_table_reader(const toml::table& table, std::string prefix) {
    return toml_table_reader(table, std::move(prefix), known_keys);
}

std::optional<pool_config> read_pool(toml_table_reader& r) {
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
    if (auto v = r.integer("weight", 1, 1000)) pool.weight = *v;
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
    if (auto labels = r.strings("labels")) {
        for (std::size_t i = 0; i < labels->size(); ++i) {
            if (!valid_model_name((*labels)[i])) {
                r.fail(fmt::format("labels[{}]", i), r.find("labels"),
                       fmt::format("a label must be 1 to {} characters without spaces or "
                                   "control characters (got {})",
                                   max_name_length, in_quotes((*labels)[i])));
                return std::nullopt;
            }
        }
        pool.labels = std::move(*labels);
    }
    if (r.error()) return std::nullopt;
    if (auto v = r.boolean("on_demand")) pool.on_demand = *v;
    if (r.error()) return std::nullopt;
    if (pool.on_demand && !managed) {
        r.fail("on_demand", r.find("on_demand"),
               "only engines llama-orch runs (llamacpp, sim) load on demand");
        return std::nullopt;
    }
    // -1: never unloaded for idleness; at most a week.
    if (auto v = r.integer("idle_ttl_secs", -1, 7 * 24 * 3600)) {
        if (!pool.on_demand) {
            r.fail("idle_ttl_secs", r.find("idle_ttl_secs"),
                   "applies to on_demand pools only; set on_demand = true");
            return std::nullopt;
        }
        pool.idle_ttl = std::chrono::seconds(*v);
    }
    if (r.error()) return std::nullopt;
    // The memory each instance holds, for a sim pool (which has no model file to estimate it
    // from): what memory budgets and swaps are simulated with.
    if (auto v = r.integer("memory_mib", 0, 1 << 24)) {
        if (!pool.on_demand || pool.engine != engine_kind::sim) {
            r.fail("memory_mib", r.find("memory_mib"),
                   "applies to on_demand sim pools only (a GGUF model's memory is estimated "
                   "from its file)");
            return std::nullopt;
        }
        pool.memory_mib = static_cast<uint64_t>(*v);
    }
    if (r.error()) return std::nullopt;
    if (!read_embeddings(r, pool)) return std::nullopt;
    return pool;
}

}  // namespace llorch::pool
