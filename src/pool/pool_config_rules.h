#pragma once
// The rules of one [[pools]] table: which keys each engine takes, the limits of every value,
// the defaults that depend on other keys (name from the model file, device by engine,
// max_tokens_default under the cap) and the engine flags llama-orch sets itself. Cross-pool
// rules (unique ids, disjoint ports) and the file as a whole are pool_config.cpp's.

#include <optional>

#include "pool/pool_config.h"
#include "pool/toml_reader.h"

namespace llorch::pool {

// The highest GPU index a device string may name.
inline constexpr int max_gpu_index = 255;

// A model name, alias or placement label: 1–256 bytes, no spaces or control characters.
bool valid_model_name(std::string_view name);

// One validated pool, or nullopt with the reader's error() set.
std::optional<pool_config> read_pool(toml_table_reader& r);

// A reader for the [[pools]] table `table`, named `prefix` ("pools[1]") in errors.
toml_table_reader pool_table_reader(const toml::table& table, std::string prefix);

}  // namespace llorch::pool
