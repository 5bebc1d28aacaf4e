#include "pool_managerd_config.h"

#include "http/client.h"
#include "http/listen.h"

namespace llorch::daemon {

void pool_managerd_config::declare(CLI::App& app) {
    app.add_option("--config", config_file,
                   "TOML file with the [[pools]] tables (optional with --models-dir: without "
                   "pools, every model of the catalog is served on demand)")
        ->envname("POOL_MANAGERD_CONFIG");
    app.add_option("--addr", addr, "listen address HOST:PORT (port 0: any free port)")
        ->envname("POOL_MANAGERD_ADDR")
        ->capture_default_str();
    app.add_option("--pools", pools,
                   "comma-separated ids of the configured pools to run (default all)")
        ->envname("POOL_MANAGERD_POOLS");
    app.add_option("--node-id", node_id, "this node's id (default: the host name)")
        ->envname("POOL_MANAGERD_NODE_ID");
    app.add_option("--node-labels", node_labels,
                   "comma-separated placement labels of this node (e.g. big,fast): every pool of "
                   "the node carries them after its own, for orchestratord's affinity rules")
        ->envname("POOL_MANAGERD_NODE_LABELS");
    app.add_option("--runtime-dir", runtime_dir, "handoff files and engine logs")
        ->envname("POOL_MANAGERD_RUNTIME_DIR")
        ->capture_default_str();
    app.add_option("--models-dir", models_dir,
                   "folder of GGUF model files: listed in the catalog (with sha256 and metadata) "
                   "and where POST /v2/catalog/models stages new ones")
        ->envname("POOL_MANAGERD_MODELS_DIR");
    app.add_option("--watch-interval-ms", watch_interval_ms, "handoff directory polling interval")
        ->envname("POOL_MANAGERD_WATCH_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(10LL, 3600000LL));
    app.add_flag("--auto-delete-handoff", auto_delete_handoff,
                 "remove adopted handoff files once processed")
        ->envname("POOL_MANAGERD_AUTO_DELETE_HANDOFF");
    app.add_flag("--watch-handoffs,!--no-watch-handoffs", watch_handoffs,
                 "adopt engines announced by handoff files in the runtime dir (default: on)")
        ->envname("POOL_MANAGERD_WATCH_HANDOFFS");
    app.add_option("--gpu-discovery-interval-ms", gpu_discovery_interval_ms,
                   "GPU inventory refresh interval")
        ->envname("POOL_MANAGERD_GPU_DISCOVERY_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3600000LL));
    app.add_option("--stall-timeout-ms", stall_timeout_ms,
                   "an engine silent this long ends the stream with DECODE_TIMEOUT")
        ->envname("POOL_MANAGERD_STALL_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3600000LL));
    app.add_option("--health-interval-ms", health_interval_ms, "engine liveness probe interval")
        ->envname("POOL_MANAGERD_HEALTH_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(50LL, 3600000LL));
    app.add_option("--ready-timeout-ms", ready_timeout_ms,
                   "longest an engine may take to become ready")
        ->envname("POOL_MANAGERD_READY_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 36000000LL));
    app.add_option("--drain-deadline-ms", drain_deadline_ms,
                   "on SIGTERM, how long in-flight work may finish")
        ->envname("POOL_MANAGERD_DRAIN_DEADLINE_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3600000LL));
    app.add_option("--restart-max-crashes", restart_max_crashes,
                   "crashes within the window that make a pool failed")
        ->envname("POOL_MANAGERD_RESTART_MAX_CRASHES")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--restart-window-ms", restart_window_ms, "crash-loop window")
        ->envname("POOL_MANAGERD_RESTART_WINDOW_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 86400000LL));
    app.add_option("--restart-backoff-ms", restart_backoff_ms,
                   "first restart backoff (doubles, capped at 30 s)")
        ->envname("POOL_MANAGERD_RESTART_BACKOFF_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 600000LL));
    add_pool_retry_options(app, pool_retry_base_ms, pool_retry_max_ms, "POOL_MANAGERD", "pool");
    add_io_threads_option(app, io_threads, "POOL_MANAGERD");
    add_logging_options(app, logging);
    app.add_flag("--cloud-profile", cloud,
                 "register with orchestratord and heartbeat to it (CLOUD profile)")
        ->envname("POOL_MANAGERD_CLOUD_PROFILE");
    app.add_option("--orchestratord-url", orchestratord_url,
                   "CLOUD: orchestratord's URL, e.g. http://10.0.0.1:8080")
        ->envname("ORCHESTRATORD_URL");
    app.add_option("--address", address,
                   "CLOUD: this node's URL as orchestratord reaches it, e.g. http://10.0.0.5:9200 "
                   "(default: the host of --addr and the port bound, unless --addr is 0.0.0.0 "
                   "or [::])")
        ->envname("POOL_MANAGERD_ADDRESS");
    app.add_option("--heartbeat-interval-secs", heartbeat_interval_secs,
                   "CLOUD: heartbeat interval (fractions allowed); orchestratord marks the node "
                   "offline after 3 missed beats or its own node timeout, whichever is longer")
        ->envname("POOL_MANAGERD_HEARTBEAT_INTERVAL_SECS")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 3600.0));
    add_on_demand_options(app, on_demand, "POOL_MANAGERD");
    add_serve_tls_options(app, https, "POOL_MANAGERD");
    add_serve_limits_options(app, limits, "POOL_MANAGERD");
    app.add_option("--tls-ca", tls_ca,
                   "CA for mutual TLS: callers must present a certificate it signed; also verifies "
                   "orchestratord's https certificate in the CLOUD profile")
        ->envname("POOL_MANAGERD_TLS_CA");
}

bool pool_managerd_config::wildcard_bind() const {
    auto listen = http::parse_listen_address(addr);
    return listen && (listen->first == "0.0.0.0" || listen->first == "::");
}

std::string pool_managerd_config::validate() const {
    if (config_file.empty() && models_dir.empty())
        return "POOL_MANAGERD_CONFIG: give --config FILE with [[pools]] tables, or --models-dir "
               "DIR to serve its models on demand";
    if (auto listen = http::parse_listen_address(addr); !listen)
        return "POOL_MANAGERD_ADDR: " + listen.error().message;
    if (cloud && orchestratord_url.empty())
        return "ORCHESTRATORD_URL: the CLOUD profile needs orchestratord's URL";
    if (cloud && address.empty() && wildcard_bind())
        return "POOL_MANAGERD_ADDRESS: bound to " + addr +
               ", the CLOUD profile needs this node's URL as orchestratord reaches it, e.g. "
               "http://10.0.0.5:9200";
    if (cloud && !http::parse_url(orchestratord_url))
        return "ORCHESTRATORD_URL: '" + orchestratord_url + "' is not an http:// URL";
    if (cloud && !address.empty() && !http::parse_url(address))
        return "POOL_MANAGERD_ADDRESS: '" + address + "' is not an http:// URL";
    if (!tls_ca.empty() && https.cert.empty())
        return "POOL_MANAGERD_TLS_CA: mutual TLS needs POOL_MANAGERD_TLS_CERT/KEY too";
    return {};
}

}  // namespace llorch::daemon
