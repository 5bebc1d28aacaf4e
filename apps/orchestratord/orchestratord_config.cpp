#include "orchestratord_config.h"

#include "admission/admission_config.h"
#include "http/listen.h"
#include "placement/placement_config.h"

namespace llorch::daemon {

void orchestratord_config::declare(CLI::App& app) {
    app.add_option("--config", config_file,
                   "TOML file with the [[pools]] tables (HOME profile; optional with --models-dir: "
                   "without pools, every model of the catalog is served on demand)")
        ->envname("ORCHESTRATORD_CONFIG");
    app.add_option("--addr", addr, "listen address HOST:PORT (port 0: any free port)")
        ->envname("ORCHESTRATORD_ADDR")
        ->capture_default_str();
    app.add_flag("--cloud-profile", cloud,
                 "run as the control plane of several nodes (CLOUD profile)")
        ->envname("ORCHESTRATORD_CLOUD_PROFILE");
    app.add_option("--admission-capacity", admission_capacity, "most tasks waiting in the queue")
        ->envname("ORCHESTRATORD_ADMISSION_CAPACITY")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000000));
    app.add_option("--admission-policy", admission_policy,
                   "when the queue is full: reject (429) or drop-lru (oldest batch task)")
        ->envname("ORCHESTRATORD_ADMISSION_POLICY")
        ->check(CLI::IsMember({"reject", "drop-lru"}))
        ->capture_default_str();
    app.add_option("--placement-strategy", placement_strategy,
                   "round-robin, least-loaded, random, weighted or hybrid")
        ->envname("ORCHESTRATORD_PLACEMENT_STRATEGY")
        ->check(CLI::IsMember({"round-robin", "least-loaded", "random", "weighted", "hybrid"}))
        ->capture_default_str();
    app.add_option("--placement-rules", placement_rules,
                   "TOML file with [task_types] (type = model) and [[affinity]] label rules "
                   "(affinity needs the hybrid strategy)")
        ->envname("ORCHESTRATORD_PLACEMENT_RULES");
    app.add_option("--disconnect-grace-ms", disconnect_grace_ms,
                   "a running task whose last reader left is cancelled after this")
        ->envname("ORCHESTRATORD_DISCONNECT_GRACE_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3600000LL));
    app.add_option("--retention-ms", retention_ms,
                   "how long a finished task's events stay readable")
        ->envname("ORCHESTRATORD_RETENTION_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 86400000LL));
    app.add_option("--stall-timeout-ms", stall_timeout_ms,
                   "an engine silent this long ends the task with DECODE_TIMEOUT")
        ->envname("ORCHESTRATORD_STALL_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3600000LL));
    app.add_option("--drain-deadline-ms", drain_deadline_ms,
                   "on SIGTERM, how long running streams may finish")
        ->envname("ORCHESTRATORD_DRAIN_DEADLINE_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3600000LL));
    app.add_option("--runtime-dir", runtime_dir, "handoff files and engine logs of the local pools")
        ->envname("ORCHESTRATORD_RUNTIME_DIR")
        ->capture_default_str();
    app.add_option("--models-dir", models_dir,
                   "HOME: folder of GGUF model files, listed in the catalog (with sha256 and "
                   "metadata) and where POST /v2/catalog/models stages new ones")
        ->envname("ORCHESTRATORD_MODELS_DIR");
    add_on_demand_options(app, on_demand, "ORCHESTRATORD");
    app.add_option("--ready-timeout-ms", ready_timeout_ms,
                   "longest a local engine may take to become ready")
        ->envname("ORCHESTRATORD_READY_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 36000000LL));
    app.add_option("--health-interval-ms", health_interval_ms,
                   "local engine liveness probe interval")
        ->envname("ORCHESTRATORD_HEALTH_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(50LL, 3600000LL));
    add_pool_retry_options(app, pool_retry_base_ms, pool_retry_max_ms, "ORCHESTRATORD",
                           "local pool");
    app.add_option("--node-timeout-ms", node_timeout_ms,
                   "CLOUD: a node silent for max(this, 3 x its heartbeat interval) goes offline")
        ->envname("ORCHESTRATORD_NODE_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 86400000LL));
    app.add_option("--max-pools-per-node", max_pools_per_node,
                   "CLOUD: a registration or heartbeat listing more pools is refused (413)")
        ->envname("ORCHESTRATORD_MAX_POOLS_PER_NODE")
        ->capture_default_str()
        ->check(CLI::Range(1LL, 1000000LL));
    app.add_option("--stale-check-interval-secs", stale_check_interval_secs,
                   "CLOUD: how often node liveness is checked")
        ->envname("ORCHESTRATORD_STALE_CHECK_INTERVAL_SECS")
        ->capture_default_str()
        ->check(CLI::Range(1LL, 3600LL));
    app.add_option("--breaker-failures", breaker_failures,
                   "CLOUD: consecutive node failures that open its circuit breaker")
        ->envname("ORCHESTRATORD_BREAKER_FAILURES")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--breaker-cooldown-ms", breaker_cooldown_ms,
                   "CLOUD: open breaker's cool-down before a trial request")
        ->envname("ORCHESTRATORD_BREAKER_COOLDOWN_MS")
        ->capture_default_str()
        ->check(CLI::Range(10LL, 3600000LL));
    app.add_option("--monitor-fall", monitor_fall,
                   "consecutive failed health probes that mark an upstream unhealthy (out of "
                   "placement; GET /v2/servers)")
        ->envname("ORCHESTRATORD_MONITOR_FALL")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--monitor-rise", monitor_rise,
                   "consecutive good health probes that mark an unhealthy upstream healthy again")
        ->envname("ORCHESTRATORD_MONITOR_RISE")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    add_serve_tls_options(app, https, "ORCHESTRATORD");
    add_serve_limits_options(app, limits, "ORCHESTRATORD");
    app.add_option("--tls-ca", tls_ca, "CLOUD: CA that nodes' https certificates must chain to")
        ->envname("ORCHESTRATORD_TLS_CA");
    app.add_option("--tls-client-cert", tls_client_cert,
                   "CLOUD: our certificate for nodes that require mutual TLS")
        ->envname("ORCHESTRATORD_TLS_CLIENT_CERT");
    app.add_option("--tls-client-key", tls_client_key, "CLOUD: private key of --tls-client-cert")
        ->envname("ORCHESTRATORD_TLS_CLIENT_KEY");
    add_io_threads_option(app, io_threads, "ORCHESTRATORD");
    app.add_option("--cors-origins", cors_origins,
                   "browser origins allowed to call the OpenAI and Ollama endpoints besides "
                   "loopback ones and app schemes (comma-separated, e.g. "
                   "https://chat.example.com; * allows any)")
        ->envname("ORCHESTRATORD_CORS_ORIGINS")
        ->delimiter(',');
    add_logging_options(app, logging);
}

std::string orchestratord_config::validate() const {
    if (!cloud && config_file.empty() && models_dir.empty())
        return "ORCHESTRATORD_CONFIG: give --config FILE with [[pools]] tables (HOME profile), "
               "--models-dir DIR to serve its models on demand, or set "
               "ORCHESTRATORD_CLOUD_PROFILE=true for a control plane of remote nodes";
    if (cloud && !config_file.empty())
        return "ORCHESTRATORD_CONFIG: the CLOUD profile has no local pools; pools live on the "
               "nodes (pool-managerd --config)";
    if (auto listen = http::parse_listen_address(addr); !listen)
        return "ORCHESTRATORD_ADDR: " + listen.error().message;
    if (!admission::parse_full_policy(admission_policy))
        return "ORCHESTRATORD_ADMISSION_POLICY: unknown policy '" + admission_policy + "'";
    if (!placement::parse_strategy(placement_strategy))
        return "ORCHESTRATORD_PLACEMENT_STRATEGY: unknown strategy '" + placement_strategy + "'";
    if (tls_client_cert.empty() != tls_client_key.empty())
        return "ORCHESTRATORD_TLS_CLIENT_CERT and ORCHESTRATORD_TLS_CLIENT_KEY go together";
    return {};
}

}  // namespace llorch::daemon
