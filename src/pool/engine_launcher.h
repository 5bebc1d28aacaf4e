#pragma once
// engine_launcher: the test seam between the pool manager and its engines. launch() starts one
// replica's engine and says where it listens; the engine_process it returns tells when the
// engine exited and stops it without blocking. pool-managerd uses process_launcher (real
// processes); unit tests start fake engines in-process.
//
// Owner: the pool manager (shared with its runtime); an engine_process is shared by its replica,
// the replica's monitor and a stop in progress, and lives until the engine exited.
// Thread: the pool manager's io thread. launch() may hop to a blocking pool and back.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "pool/pool_config.h"
#include "pool/pool_error.h"

namespace llorch::pool {

// One engine started by a launcher.
class engine_process {
  public:
    virtual ~engine_process() = default;
    // The process id, for status and handoff files; 0 when the engine is no process of ours.
    virtual long pid() const = 0;
    virtual bool exited() const = 0;
    // Why it ended ("exited with 1; last log lines: ..."), once exited.
    virtual std::string exit_reason() const = 0;
    // Calls `cb` on the io thread when the engine exits (at once when it has). Callbacks are kept
    // until then: register one per waiter that lives as long as the engine.
    virtual void on_exit(std::function<void()> cb) = 0;
    // Asks the engine to stop (SIGTERM to its process group), and kills it (SIGKILL) when it is
    // still there after `grace`. Returns at once; on_exit tells when it is gone.
    virtual void stop(std::chrono::milliseconds grace) = 0;
    // SIGKILL and reap, blocking for the few milliseconds that takes: for destructors only.
    virtual void kill_now() = 0;
    // Upkeep after each health probe (log rotation); never blocks the caller.
    virtual void tend() {}
};

// What to start: one replica of a pool.
struct engine_spec {
    std::string model;  // GGUF path (the sim's model name)
    int index = 0;      // replica number in the pool
    long long generation = 0;
    int slots = 1;
    // An embeddings pool's pooling type (--pooling); empty: the model's own.
    std::string pooling;
};

struct launched_engine {
    std::shared_ptr<engine_process> process;
    std::string base_url;  // "http://127.0.0.1:PORT", no trailing slash
    std::string api_key;   // what the engine expects as bearer token; empty: none
};

class engine_launcher {
  public:
    virtual ~engine_launcher() = default;
    // Starts the engine; returns once it runs (not once it is ready: the monitor probes that).
    // The error says why it could not start (no such program, no free port, ...).
    virtual boost::asio::awaitable<pool_result<launched_engine>> launch(pool_config pool,
                                                                        engine_spec spec) = 0;
};

// The binary that runs a pool's engines: engine_path, llorch-sim beside this daemon for sim
// pools, else the built llama-server; empty when none is built.
std::filesystem::path engine_binary(const pool_config& c);

// The pooling an embeddings pool of `c` runs `model` with: the pool's `pooling` key; else empty
// when the GGUF declares its own `<arch>.pooling_type` (llama-server reads it), else "mean"
// (llama-server's OpenAI embeddings refuse a model without pooling). Blocks: reads the header.
std::string embedding_pooling(const pool_config& c, const std::filesystem::path& model);

// llama-server's command line for one replica (argv[0] = engine); sim pools translate it with
// sim_engine_argv.
std::vector<std::string> engine_argv(const pool_config& c, const engine_spec& s,
                                     const std::filesystem::path& engine, uint16_t port,
                                     const std::string& api_key);

}  // namespace llorch::pool
