#include "daemon_cli.h"

#include <cstdlib>

#include "common/log.h"

namespace llorch::daemon {

void add_logging_options(CLI::App& app, logging_options& o) {
    app.add_option("--log-format", o.format, "text or json")
        ->envname("LLORCH_LOG_FORMAT")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--log-level", o.level, "trace, debug, info, warn, error")
        ->envname("LLORCH_LOG_LEVEL")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
}

void start_logging(const logging_options& o) {
    common::init_logging(o.format == "json" ? common::log_format::json : common::log_format::text,
                         o.level);
}

std::string default_runtime_dir() {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    return std::string(xdg && *xdg ? xdg : "/tmp") + "/llama-orch";
}

void add_serve_tls_options(CLI::App& app, serve_tls_options& o, const std::string& env_prefix) {
    app.add_option("--tls-cert", o.cert, "serve HTTPS with this PEM certificate (with --tls-key)")
        ->envname(env_prefix + "_TLS_CERT");
    app.add_option("--tls-key", o.key, "PEM private key of --tls-cert")
        ->envname(env_prefix + "_TLS_KEY");
}

startup_result<http::tls_context> serve_tls(const serve_tls_options& o,
                                            const std::string& env_prefix,
                                            const std::string& client_ca) {
    if (o.cert.empty() != o.key.empty())
        return startup_error{startup_errc::tls_files,
                             env_prefix + "_TLS_CERT and " + env_prefix +
                                 "_TLS_KEY go together; set both or neither"};
    if (o.cert.empty()) return http::tls_context{};
    auto t = http::make_server_tls(o.cert, o.key, client_ca);
    if (!t) return at_key(startup_errc::tls_files, env_prefix + "_TLS_CERT", t.error().message);
    return *t;
}

void add_serve_limits_options(CLI::App& app, serve_limits_options& o,
                              const std::string& env_prefix) {
    app.add_option("--max-connections", o.max_connections,
                   "connections served at once; beyond, new ones wait in the listen backlog "
                   "(0: half the open-files limit less a reserve)")
        ->envname(env_prefix + "_MAX_CONNECTIONS")
        ->capture_default_str()
        ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
    app.add_option("--header-timeout-ms", o.header_timeout_ms,
                   "a request's line and headers must arrive within this of their first byte; a "
                   "client slower than that is disconnected")
        ->envname(env_prefix + "_HEADER_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3'600'000LL));
    app.add_option("--idle-timeout-ms", o.idle_timeout_ms,
                   "a keep-alive connection with no request for this long is closed")
        ->envname(env_prefix + "_IDLE_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 86'400'000LL));
}

void count_streams(common::metrics_registry& metrics, http::server_options& so) {
    so.streams_open = &metrics.gauge("sse_streams_open", "Streamed responses being written.");
    so.slow_readers_cut = &metrics.counter(
        "sse_slow_readers_cut_total",
        "Streams cut off because the client read too slowly (one write over the write timeout).");
}

void apply_serve_limits(const serve_limits_options& o, http::server_options& so) {
    so.max_connections = o.max_connections;
    so.header_timeout = std::chrono::milliseconds(o.header_timeout_ms);
    so.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
}

void add_io_threads_option(CLI::App& app, unsigned& io_threads, const std::string& env_prefix) {
    app.add_option("--io-threads", io_threads,
                   "threads serving connections, the control thread included (default: the "
                   "core count, but 1 on a machine of 2 cores or fewer, where a second one costs "
                   "more CPU than it saves); requests are handled and control state kept on the "
                   "control thread")
        ->envname(env_prefix + "_IO_THREADS")
        ->capture_default_str()
        ->check(CLI::Range(1u, 256u));
}

void add_pool_retry_options(CLI::App& app, long long& base_ms, long long& max_ms,
                            const std::string& env_prefix, const std::string& what) {
    app.add_option("--pool-retry-base-ms", base_ms,
                   "a failed " + what +
                       " starts again by itself after this backoff (jittered, doubling up to "
                       "--pool-retry-max-ms)")
        ->envname(env_prefix + "_POOL_RETRY_BASE_MS")
        ->capture_default_str()
        ->check(CLI::Range(10LL, 3600000LL));
    app.add_option("--pool-retry-max-ms", max_ms,
                   "the longest wait before a failed " + what + " tries to start again")
        ->envname(env_prefix + "_POOL_RETRY_MAX_MS")
        ->capture_default_str()
        ->check(CLI::Range(10LL, 86400000LL));
}

void add_on_demand_options(CLI::App& app, on_demand_cli_options& o, const std::string& env_prefix) {
    app.add_option("--default-slots", o.default_slots,
                   "on-demand models of the catalog (a models folder and no [[pools]]): "
                   "parallel requests per loaded model")
        ->envname(env_prefix + "_DEFAULT_SLOTS")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--default-ctx", o.default_ctx,
                   "on-demand models of the catalog: context per request in tokens (cut to the "
                   "model's training context when that is smaller)")
        ->envname(env_prefix + "_DEFAULT_CTX")
        ->capture_default_str()
        ->check(CLI::Range(64, 1 << 20));
    app.add_option("--idle-ttl-secs", o.idle_ttl_secs,
                   "on-demand models of the catalog: unloaded after this long without a request "
                   "(-1: never; a request's keep_alive overrides it)")
        ->envname(env_prefix + "_IDLE_TTL_SECS")
        ->capture_default_str()
        ->check(CLI::Range(-1LL, 7LL * 24 * 3600));
    app.add_option("--memory-budget-mib", o.memory_budget_mib,
                   "memory the on-demand models on the CPU may hold in all, by their estimates "
                   "(0: the machine's memory); a load that does not fit unloads idle models, "
                   "least recently used first")
        ->envname(env_prefix + "_MEMORY_BUDGET_MIB")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 1LL << 40));
    app.add_option("--swap-wait-ms", o.swap_wait_ms,
                   "on-demand models: when a load waits for memory that models in use hold, "
                   "they keep taking new requests this long (from when it began to wait, or "
                   "from when they loaded if later), then finish what is in flight and make "
                   "way; 0 swaps as soon as another model waits")
        ->envname(env_prefix + "_SWAP_WAIT_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3'600'000LL));
}

pool::on_demand_options on_demand_settings(const on_demand_cli_options& o, bool serve_catalog) {
    pool::on_demand_options out;
    out.serve_catalog = serve_catalog;
    out.slots = o.default_slots;
    out.ctx = o.default_ctx;
    out.idle_ttl = std::chrono::seconds(o.idle_ttl_secs);
    out.memory_budget_bytes = static_cast<uint64_t>(o.memory_budget_mib) << 20;
    out.swap_wait = std::chrono::milliseconds(o.swap_wait_ms);
    return out;
}

}  // namespace llorch::daemon
