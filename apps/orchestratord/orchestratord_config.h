#pragma once
// Everything orchestratord can be told, declared once: each field's default is here (taken from
// the options struct of the module it configures, so it is written nowhere else), and declare()
// gives each its flag, environment variable, help text and range. validate() checks what can be
// checked without touching the environment or the disk and names the key at fault.

#include <chrono>
#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

#include "admission/admission_config.h"
#include "daemon_cli.h"
#include "dispatch/circuit_breaker.h"
#include "http/io_threads.h"
#include "monitor/monitor_config.h"
#include "orchestrator/task_service.h"
#include "pool/pool_manager.h"
#include "registry/registry_config.h"

namespace llorch::daemon {

struct orchestratord_config {
    static constexpr const char* description =
        "orchestratord — llama-orch control plane: queues client requests, places them "
        "on GPU pools and streams the tokens back.\nWith [[pools]] in --config it runs "
        "them in-process (HOME profile). Client tokens come from the environment only: "
        "LLORCH_API_TOKEN (comma-separated for rotation); required on a non-loopback bind.";

    std::string config_file;
    std::string addr = "127.0.0.1:8080";
    bool cloud = false;
    size_t admission_capacity = admission::admission_config{}.capacity;
    std::string admission_policy = "reject";
    std::string placement_strategy = "round-robin";
    std::string placement_rules;  // TOML: [task_types] and [[affinity]] (hybrid only)
    long long disconnect_grace_ms = orchestrator::service_options{}.disconnect_grace.count();
    long long retention_ms = orchestrator::service_options{}.retention.count();
    long long stall_timeout_ms = pool::manager_options{}.stall_timeout.count();
    long long drain_deadline_ms = 30'000;
    std::string runtime_dir = default_runtime_dir();
    on_demand_cli_options on_demand;
    std::string models_dir;  // HOME: GGUF files of the catalog, where staging puts new ones
    long long ready_timeout_ms = pool::manager_options{}.ready_timeout.count();
    long long health_interval_ms = pool::manager_options{}.health_interval.count();
    long long pool_retry_base_ms = pool::manager_options{}.recovery.base.count();
    long long pool_retry_max_ms = pool::manager_options{}.recovery.cap.count();
    long long node_timeout_ms = registry::registry_config{}.node_timeout.count();
    long long max_pools_per_node =
        static_cast<long long>(registry::registry_config{}.max_pools_per_node);
    long long stale_check_interval_secs = std::chrono::duration_cast<std::chrono::seconds>(
                                              registry::registry_config{}.stale_check_interval)
                                              .count();
    int breaker_failures = static_cast<int>(dispatch::circuit_breaker_config{}.failure_threshold);
    long long breaker_cooldown_ms = dispatch::circuit_breaker_config{}.cool_down.count();
    int monitor_fall = monitor::monitor_config{}.fall;
    int monitor_rise = monitor::monitor_config{}.rise;
    unsigned io_threads = http::default_io_threads();
    std::vector<std::string> cors_origins;
    logging_options logging;
    serve_tls_options https;
    serve_limits_options limits;
    std::string tls_ca, tls_client_cert, tls_client_key;

    void declare(CLI::App& app);
    // "KEY: what is wrong and what to do"; empty when every value can be used.
    std::string validate() const;
};

}  // namespace llorch::daemon
