#pragma once
// Everything pool-managerd can be told, declared once: each field's default is here (taken from
// the options struct of the module it configures, so it is written nowhere else), and declare()
// gives each its flag, environment variable, help text and range. validate() checks what can be
// checked without touching the environment or the disk and names the key at fault.

#include <string>

#include <CLI/CLI.hpp>

#include "daemon_cli.h"
#include "http/io_threads.h"
#include "pool/node_agent.h"
#include "pool/pool_manager.h"

namespace llorch::daemon {

struct pool_managerd_config {
    static constexpr const char* description =
        "pool-managerd — llama-orch worker daemon: runs and supervises the inference "
        "engines of this machine.\nTokens come from the environment only: "
        "LLORCH_SERVICE_TOKEN (comma-separated for rotation), falling back to "
        "LLORCH_API_TOKEN; required when binding a non-loopback address.";

    std::string config_file;
    std::string addr = "127.0.0.1:9200";
    std::string pools;        // comma-separated ids; empty: all
    std::string node_id;      // empty: the host name
    std::string node_labels;  // comma-separated placement labels of this node, given to its pools
    std::string runtime_dir = default_runtime_dir();
    std::string models_dir;  // GGUF files of the catalog, and where staging puts new ones
    long long watch_interval_ms = pool::manager_options{}.watch_interval.count();
    bool auto_delete_handoff = pool::manager_options{}.auto_delete_handoff;
    bool watch_handoffs = pool::manager_options{}.watch_handoffs;
    long long gpu_discovery_interval_ms = pool::manager_options{}.gpu_discovery_interval.count();
    long long stall_timeout_ms = pool::manager_options{}.stall_timeout.count();
    long long health_interval_ms = pool::manager_options{}.health_interval.count();
    long long ready_timeout_ms = pool::manager_options{}.ready_timeout.count();
    long long drain_deadline_ms = 30'000;
    int restart_max_crashes = pool::restart_policy_config{}.max_crashes;
    long long restart_window_ms = pool::restart_policy_config{}.window.count();
    long long restart_backoff_ms = pool::restart_policy_config{}.backoff.base.count();
    long long pool_retry_base_ms = pool::manager_options{}.recovery.base.count();
    long long pool_retry_max_ms = pool::manager_options{}.recovery.cap.count();
    unsigned io_threads = http::default_io_threads();
    logging_options logging;
    bool cloud = false;
    std::string orchestratord_url;
    std::string address;  // this node's URL as orchestratord reaches it; empty: from --addr
    double heartbeat_interval_secs =
        std::chrono::duration<double>(pool::node_agent_options{}.heartbeat_interval).count();
    serve_tls_options https;
    serve_limits_options limits;
    std::string tls_ca;
    on_demand_cli_options on_demand;

    void declare(CLI::App& app);
    // "KEY: what is wrong and what to do"; empty when every value can be used.
    std::string validate() const;
    // --addr names every address of the machine (0.0.0.0, [::]): it says nothing of how
    // orchestratord reaches this node.
    bool wildcard_bind() const;
};

}  // namespace llorch::daemon
