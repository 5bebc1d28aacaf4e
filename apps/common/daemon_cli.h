#pragma once
// Command-line pieces orchestratord and pool-managerd share: logging options, the runtime
// directory's default, and the certificate that serves HTTPS. Each daemon names its own
// environment variables with its prefix (ORCHESTRATORD_, POOL_MANAGERD_).

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/metrics.h"
#include "http/server.h"
#include "http/tls.h"
#include "pool/pool_manager.h"
#include "startup_error.h"

namespace llorch::daemon {

struct logging_options {
    std::string format = "text";  // text | json
    std::string level = "info";
};
// --log-format and --log-level (LLORCH_LOG_FORMAT, LLORCH_LOG_LEVEL).
void add_logging_options(CLI::App& app, logging_options& o);
void start_logging(const logging_options& o);

// $XDG_RUNTIME_DIR/llama-orch, else /tmp/llama-orch.
std::string default_runtime_dir();

struct serve_tls_options {
    std::string cert, key;  // PEM files
};
// --tls-cert and --tls-key (PREFIX_TLS_CERT, PREFIX_TLS_KEY).
void add_serve_tls_options(CLI::App& app, serve_tls_options& o, const std::string& env_prefix);
// The context that serves HTTPS, null when no certificate is set; with `client_ca`, callers
// must present a certificate it signed. The error names the variable to fix.
startup_result<http::tls_context> serve_tls(const serve_tls_options& o,
                                            const std::string& env_prefix,
                                            const std::string& client_ca = {});

// --io-threads (PREFIX_IO_THREADS): the threads that serve connections (http::io_threads).
void add_io_threads_option(CLI::App& app, unsigned& io_threads, const std::string& env_prefix);

// --pool-retry-base-ms and --pool-retry-max-ms (PREFIX_POOL_RETRY_BASE_MS, ...): how a failed
// pool (`what`: "pool", "local pool") starts again by itself.
void add_pool_retry_options(CLI::App& app, long long& base_ms, long long& max_ms,
                            const std::string& env_prefix, const std::string& what);

// The settings of models loaded on demand (pool::on_demand_options): the pools catalog models
// get, and the CPU memory budget of every on-demand load.
struct on_demand_cli_options {
    int default_slots = 2;
    int default_ctx = 4096;
    long long idle_ttl_secs = 300;
    long long memory_budget_mib = 0;
    long long swap_wait_ms = pool::on_demand_options{}.swap_wait.count();
};
// --default-slots, --default-ctx, --idle-ttl-secs, --memory-budget-mib, --swap-wait-ms
// (PREFIX_DEFAULT_SLOTS...).
void add_on_demand_options(CLI::App& app, on_demand_cli_options& o, const std::string& env_prefix);
// The pool manager's settings from them; the catalog is served on demand when `serve_catalog`.
pool::on_demand_options on_demand_settings(const on_demand_cli_options& o, bool serve_catalog);

// How a daemon's HTTP server treats connections (see http::server_options).
struct serve_limits_options {
    size_t max_connections = 0;  // 0: half the descriptor limit less a reserve
    long long header_timeout_ms = 10'000;
    long long idle_timeout_ms = 75'000;
};
// --max-connections, --header-timeout-ms, --idle-timeout-ms (PREFIX_MAX_CONNECTIONS, ...).
void add_serve_limits_options(CLI::App& app, serve_limits_options& o,
                              const std::string& env_prefix);
void apply_serve_limits(const serve_limits_options& o, http::server_options& so);
// The server's stream figures (sse_streams_open, sse_slow_readers_cut_total) into `metrics`.
void count_streams(common::metrics_registry& metrics, http::server_options& so);

// Parses the command line into `cfg` (the options its declare() gives, with --version) and starts
// logging. Returns the exit code when the process should end now: 0 after --help or --version,
// 2 for a bad command line (CLI11 has printed why).
template <class Config>
std::optional<int> parse_command_line(const char* name, Config& cfg, int argc, char** argv) {
    CLI::App app{Config::description};
    app.set_version_flag("--version", std::string(name) + " " + LLORCH_VERSION);
    cfg.declare(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    start_logging(cfg.logging);
    return std::nullopt;
}

}  // namespace llorch::daemon
