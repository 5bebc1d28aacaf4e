#pragma once
// Handoff files: `<runtime_dir>/<pool_id>.json`, one per ready pool, in the original llama-orch's
// format. pool-managerd writes one when a pool's engine becomes ready and removes it when the
// pool stops; an engine started outside llama-orch announces itself the same way and is adopted
// (see handoff_watcher). Plain functions, callable from any thread; the file functions block on
// disk and belong on the pool manager's blocking pool (or its io thread, the files are tiny).
//
//   {"pool_id":"tiny","engine":"llamacpp","endpoint":"http://127.0.0.1:8081","gpu_device":"cpu",
//    "slots":4,"ready":true,"model":"tiny","model_path":"/models/tiny.gguf","pid":4242,
//    "engine_version":"b4500","replica_id":"r0","written_at":"2025-01-02T03:04:05Z",
//    "api_key_env":"TINY_API_KEY"}
//
// Reading rules (files may come from other tools, including the original's provisioner):
// - required: pool_id ([A-Za-z0-9._-]{1,64}, not starting with '.') and endpoint (an http:// or
//   https:// URL with a host, an optional port 1-65535 and no user info);
// - spellings: `url` or `http_endpoint` for endpoint, `device` or `device_mask` for gpu_device,
//   `model` as an object `{"path": ...}` (the original's shape) for model_path;
// - missing `slots` means 1 (the original's provisioner wrote none, and one sequence is what any
//   engine serves); a present one must be an integer >= 1;
// - missing `ready` means true (a handoff is only written once the engine answers); a present
//   one must be a boolean;
// - gpu_device and replica_id may be written as numbers (0 -> "0"); null is the same as absent
//   for every optional key; unknown keys are ignored;
// - api_key_env names an environment variable and never holds the key itself.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pool/pool_error.h"

namespace llorch::pool {

struct handoff {
    std::string pool_id;
    std::string engine;      // "llamacpp", "openai", ...; empty when the file named none
    std::string endpoint;    // http://127.0.0.1:PORT
    std::string gpu_device;  // "cpu", "0", "0,1"; empty when unknown
    int slots = 0;
    bool ready = false;
    std::string model;  // the model name requests ask for
    std::string model_path;
    std::optional<int> pid;
    std::string engine_version;
    std::string replica_id;
    std::string written_at;   // RFC 3339, UTC
    std::string api_key_env;  // the environment variable holding the engine's key

    friend bool operator==(const handoff&, const handoff&) = default;
};

// One JSON object and a newline. The six original keys are always written; the others only when
// set.
std::string to_json(const handoff& h);

// Parses and validates one handoff document; the error is one line naming the key.
pool_result<handoff> parse_handoff(std::string_view json);

// Reads and parses a handoff file; errors start with the file's path.
pool_result<handoff> read_handoff_file(const std::filesystem::path& path);

// `<dir>/<pool_id>.json`.
std::filesystem::path handoff_path(const std::filesystem::path& dir, std::string_view pool_id);

// Writes `<dir>/<pool_id>.json` so that a reader sees the old file or the new one, never a part:
// a temporary `.<pool_id>.json.<unique>.tmp` in `dir` (ignored by handoff_watcher), fsync,
// rename over the target, fsync of the directory. `dir` is created when missing. An empty
// `written_at` is filled with the current time. A handoff that parse_handoff would reject is
// not written. On failure the temporary file is removed and a previous file stays as it was.
pool_result<void> write_handoff_atomic(const std::filesystem::path& dir, const handoff& h);

// Removes `<dir>/<pool_id>.json`; a file that is not there is not an error.
pool_result<void> remove_handoff(const std::filesystem::path& dir, std::string_view pool_id);

// Whether `pool_id` can name a handoff file: [A-Za-z0-9._-]{1,64}, not starting with '.'.
bool valid_handoff_pool_id(std::string_view pool_id);

}  // namespace llorch::pool
