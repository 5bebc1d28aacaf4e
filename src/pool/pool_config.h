#pragma once
// The configuration of the pools a node runs, read from the `[[pools]]` tables of the TOML config
// file that pool-managerd (and orchestratord's in-process pools in the HOME profile) load at
// start-up and on reload. Plain values, validated once here; the supervisor trusts them after.
//
//   [[pools]]
//   id = "tiny"                 # unique on this node: [A-Za-z0-9._-]{1,64}
//   engine = "llamacpp"         # llamacpp | openai | ollama | sim
//   model = "/path/tiny.gguf"   # GGUF path (llamacpp); upstream model name (openai, ollama)
//   device = "cpu"              # "cpu", "gpu:0", "gpu:0,1"
//   slots = 4
//   ctx = 4096
//   on_demand = true            # loaded on the first request, unloaded when idle
//   idle_ttl_secs = 300         # on_demand: idle this long, it unloads (-1: never)
//   memory_mib = 512            # on_demand sim: the memory an instance holds (simulated)
//
// Rules beyond the field comments below:
// - Unknown keys are errors, so a typo never passes silently; other top-level tables than
//   `pools` belong to the daemons and are ignored here.
// - Engines llama-orch runs (llamacpp, sim) take model, engine_path, extra_args, port, threads,
//   replicas; engines run outside it (openai, ollama) take an endpoint instead, and one replica.
// - Pool indexes in error keys count from 0, in file order: the second [[pools]] is pools[1].

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

namespace llorch::pool {

enum class engine_kind { llamacpp, openai, ollama, sim };

// "llamacpp", "openai", "ollama", "sim": the names the config file and the API use.
std::string_view to_string(engine_kind kind);
std::optional<engine_kind> parse_engine_kind(std::string_view name);

// Whether llama-orch starts and supervises this engine's processes itself.
bool is_managed(engine_kind kind);

struct pool_config {
    std::string id;
    engine_kind engine = engine_kind::llamacpp;
    // llamacpp: path of the GGUF file (required). openai/ollama: the model name the upstream
    // server knows. sim: optional.
    std::string model;
    // What requests ask for. Default: llamacpp/sim the model file's stem (tiny.gguf -> tiny);
    // openai/ollama the model as written.
    std::string name;
    // "cpu", "gpu:0", "gpu:0,1". Default: "gpu:0" for llamacpp (a GPU pool fails fast where
    // there is no GPU; CPU pools say "cpu" explicitly), "cpu" for the others.
    std::string device;
    std::vector<int> gpus;  // parsed from device, in the order written; empty = cpu
    // Parallel sequences of the whole pool, split evenly between replicas (slots % replicas
    // must be 0): replicas = 4, slots = 64 runs four engines with 16 slots each.
    int slots = 4;
    // Context window of one request, in tokens. An engine with n slots needs n * ctx tokens of
    // KV cache (llama-server: -c <ctx * slots of that replica> -np <slots of that replica>).
    int ctx = 4096;
    int threads = 0;  // 0: engine default
    int replicas = 1;
    int max_tokens_default = 256;  // when absent: min(256, max_tokens_cap)
    int max_tokens_cap = 4096;
    // Passed to the engine after the arguments llama-orch sets; may not set what llama-orch
    // owns (host, port, API key, model, slots, context, threads).
    std::vector<std::string> extra_args;
    // Loopback port of the first replica; replica r listens on port + r. Absent: a free port.
    std::optional<int> port;
    std::string endpoint;              // base URL of an openai/ollama server run outside llama-orch
    std::string engine_path;           // per-pool engine binary instead of the default llama-server
    std::vector<std::string> aliases;  // more model names this pool answers to
    // Placement labels (`big`, `fast`): affinity rules of the control plane prefer or require them.
    std::vector<std::string> labels;
    // Share of the `weighted` placement strategy's picks (1..1000; 0: by slots), e.g. to send a
    // faster Ollama server twice the work of a slower one with the same slots.
    int weight = 0;
    // The pool also answers embedding requests (/v1/embeddings, /api/embed): llama-server runs
    // with --embeddings and a pooling type; `pooling` ("mean", "cls", "last", "rank"; empty: the
    // model's own `<arch>.pooling_type`, else mean). Not for sim pools.
    bool embeddings = false;
    std::string pooling;
    // An on-demand pool has no engine until a request asks for its model, and unloads again once
    // idle for idle_ttl (negative: never). Its instances: 0 while unloaded, `replicas` loaded;
    // a fixed pool always runs its replicas (min = max). The node's models folder, with no
    // [[pools]] at all, gives every catalog model such a pool (pool_manager::serve_catalog).
    bool on_demand = false;
    std::chrono::milliseconds idle_ttl{std::chrono::minutes(5)};
    // sim on_demand pools: the memory each instance is taken to hold (0: none).
    uint64_t memory_mib = 0;

    friend bool operator==(const pool_config&, const pool_config&) = default;
};

struct config_error {
    std::string key;      // "pools[1].slots"; "POOL_MANAGERD_POOLS"; empty for the whole file
    std::string message;  // one line naming the key: "pools[1].slots: must be at least 1 (got 0)"
    int line = 0;         // 1-based line in the TOML text; 0 when unknown
    int column = 0;       // 1-based; only set for TOML syntax errors
};

// Parses and validates the [[pools]] tables of a TOML document. No `pools` key: no pools.
boost::system::result<std::vector<pool_config>, config_error> parse_pools_toml(
    std::string_view text);

// Reads the file and parses it; messages then start with "<path>:<line>: " (or
// "<path>:<line>:<column>: TOML syntax error: ...").
boost::system::result<std::vector<pool_config>, config_error> load_pools_file(
    const std::filesystem::path& path);

// Keeps the pools named in a comma-separated list of ids (POOL_MANAGERD_POOLS), in file order.
// An empty list keeps all; an id not in `pools` is an error naming POOL_MANAGERD_POOLS.
boost::system::result<std::vector<pool_config>, config_error> select_pools(
    std::vector<pool_config> pools, std::string_view comma_separated_ids);

// Gives every pool the node's own placement labels (a comma-separated list,
// POOL_MANAGERD_NODE_LABELS), after the pool's own and without repeating one. A label that is not
// a valid name is an error naming POOL_MANAGERD_NODE_LABELS.
boost::system::result<std::vector<pool_config>, config_error> add_node_labels(
    std::vector<pool_config> pools, std::string_view comma_separated_labels);

// Parses a device string: "cpu" -> {}, "gpu:0,1" -> {0, 1}; nullopt when malformed or when a
// GPU appears twice.
std::optional<std::vector<int>> parse_device(std::string_view device);

}  // namespace llorch::pool
