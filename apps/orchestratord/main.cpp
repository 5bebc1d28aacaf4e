// orchestratord — the control plane of llama-orch: takes client requests, queues them, places
// each on a pool and streams the tokens back. HOME profile: with [[pools]] in --config it runs
// those pools in-process (one binary, one machine).
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"
#include "daemon_cli.h"
#include "gpu/system_gpu_inventory.h"
#include "http/listen.h"
#include "http/server.h"
#include "orchestrator/cloud_backend.h"
#include "orchestrator/local_backend.h"
#include "orchestrator/orchestratord_routes.h"
#include "orchestrator/task_service.h"
#include "placement/placement_config.h"
#include "pool/pool_config.h"

namespace asio = boost::asio;

int main(int argc, char** argv) {
    std::string config_file, addr = "127.0.0.1:8080", policy = "reject", strategy = "round-robin";
    std::string runtime_dir = llorch::daemon::default_runtime_dir();
    llorch::daemon::logging_options logging;
    llorch::daemon::serve_tls_options https;
    size_t capacity = 1024;
    long long grace_ms = 2000, retention_ms = 300000, stall_ms = 30000, drain_ms = 30000,
              ready_ms = 180000, health_ms = 2000;
    bool cloud = false;
    long long node_timeout_ms = 30000, stale_check_secs = 5, breaker_cooldown_ms = 5000;
    int breaker_failures = 3;
    std::string tls_ca, tls_client_cert, tls_client_key;

    CLI::App app{
        "orchestratord — llama-orch control plane: queues client requests, places them "
        "on GPU pools and streams the tokens back.\nWith [[pools]] in --config it runs "
        "them in-process (HOME profile). Client tokens come from the environment only: "
        "LLORCH_API_TOKEN (comma-separated for rotation); required on a non-loopback bind."};
    app.set_version_flag("--version", std::string("orchestratord ") + LLORCH_VERSION);
    app.add_option("--config", config_file, "TOML file with the [[pools]] tables (HOME profile)")
        ->envname("ORCHESTRATORD_CONFIG");
    app.add_option("--addr", addr, "listen address HOST:PORT")
        ->envname("ORCHESTRATORD_ADDR")
        ->capture_default_str();
    app.add_flag("--cloud-profile", cloud,
                 "run as the control plane of several nodes (CLOUD profile)")
        ->envname("ORCHESTRATORD_CLOUD_PROFILE");
    app.add_option("--admission-capacity", capacity, "most tasks waiting in the queue")
        ->envname("ORCHESTRATORD_ADMISSION_CAPACITY")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000000));
    app.add_option("--admission-policy", policy,
                   "when the queue is full: reject (429) or drop-lru (oldest batch task)")
        ->envname("ORCHESTRATORD_ADMISSION_POLICY")
        ->check(CLI::IsMember({"reject", "drop-lru"}))
        ->capture_default_str();
    app.add_option("--placement-strategy", strategy,
                   "round-robin, least-loaded, random, weighted or hybrid")
        ->envname("ORCHESTRATORD_PLACEMENT_STRATEGY")
        ->check(CLI::IsMember({"round-robin", "least-loaded", "random", "weighted", "hybrid"}))
        ->capture_default_str();
    app.add_option("--disconnect-grace-ms", grace_ms,
                   "a running task whose last reader left is cancelled after this")
        ->envname("ORCHESTRATORD_DISCONNECT_GRACE_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3600000LL));
    app.add_option("--retention-ms", retention_ms,
                   "how long a finished task's events stay readable")
        ->envname("ORCHESTRATORD_RETENTION_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 86400000LL));
    app.add_option("--stall-timeout-ms", stall_ms,
                   "an engine silent this long ends the task with DECODE_TIMEOUT")
        ->envname("ORCHESTRATORD_STALL_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3600000LL));
    app.add_option("--drain-deadline-ms", drain_ms,
                   "on SIGTERM, how long running streams may finish")
        ->envname("ORCHESTRATORD_DRAIN_DEADLINE_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3600000LL));
    app.add_option("--runtime-dir", runtime_dir, "handoff files and engine logs of the local pools")
        ->envname("ORCHESTRATORD_RUNTIME_DIR")
        ->capture_default_str();
    app.add_option("--ready-timeout-ms", ready_ms,
                   "longest a local engine may take to become ready")
        ->envname("ORCHESTRATORD_READY_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 36000000LL));
    app.add_option("--health-interval-ms", health_ms, "local engine liveness probe interval")
        ->envname("ORCHESTRATORD_HEALTH_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(50LL, 3600000LL));
    app.add_option("--node-timeout-ms", node_timeout_ms,
                   "CLOUD: a node silent for max(this, 3 x its heartbeat interval) goes offline")
        ->envname("ORCHESTRATORD_NODE_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 86400000LL));
    app.add_option("--stale-check-interval-secs", stale_check_secs,
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
    llorch::daemon::add_serve_tls_options(app, https, "ORCHESTRATORD");
    app.add_option("--tls-ca", tls_ca, "CLOUD: CA that nodes' https certificates must chain to")
        ->envname("ORCHESTRATORD_TLS_CA");
    app.add_option("--tls-client-cert", tls_client_cert,
                   "CLOUD: our certificate for nodes that require mutual TLS")
        ->envname("ORCHESTRATORD_TLS_CLIENT_CERT");
    app.add_option("--tls-client-key", tls_client_key, "CLOUD: private key of --tls-client-cert")
        ->envname("ORCHESTRATORD_TLS_CLIENT_KEY");
    llorch::daemon::add_logging_options(app, logging);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    llorch::daemon::start_logging(logging);
    auto log = llorch::common::logger("orchestratord");
    auto die = [](const std::string& m) {
        std::cerr << "orchestratord: " << m << "\n";
        return 2;
    };
    if (!cloud && config_file.empty())
        return die(
            "ORCHESTRATORD_CONFIG: give --config FILE with [[pools]] tables (HOME profile), "
            "or set ORCHESTRATORD_CLOUD_PROFILE=true for a control plane of remote nodes");
    if (cloud && !config_file.empty())
        return die(
            "ORCHESTRATORD_CONFIG: the CLOUD profile has no local pools; pools live on the "
            "nodes (pool-managerd --config)");

    auto listen = llorch::http::parse_listen_address(addr);
    if (!listen) return die("ORCHESTRATORD_ADDR: " + listen.error());
    auto tokens = llorch::http::tokens_from_env({"LLORCH_API_TOKEN"});
    if (!tokens) return die(tokens.error());
    if (auto why = llorch::http::check_bind(listen->first, *tokens, "LLORCH_API_TOKEN");
        !why.empty())
        return die(why);
    auto service_tokens =
        llorch::http::tokens_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
    if (!service_tokens) return die(service_tokens.error());
    auto placement_strategy = llorch::placement::parse_strategy(strategy);
    if (!placement_strategy)
        return die("ORCHESTRATORD_PLACEMENT_STRATEGY: unknown strategy '" + strategy + "'");
    auto served = llorch::daemon::serve_tls(https, "ORCHESTRATORD");
    if (!served) return die(served.error());
    auto server_tls = *served;
    llorch::http::tls_context client_tls;
    if (tls_client_cert.empty() != tls_client_key.empty())
        return die("ORCHESTRATORD_TLS_CLIENT_CERT and ORCHESTRATORD_TLS_CLIENT_KEY go together");
    if (!tls_ca.empty() || !tls_client_cert.empty()) {
        auto t = llorch::http::make_client_tls(tls_ca, tls_client_cert, tls_client_key);
        if (!t) return die("ORCHESTRATORD_TLS_CA: " + t.error());
        client_tls = *t;
    }
    std::vector<llorch::pool::pool_config> pool_configs;
    if (!cloud) {
        auto pools = llorch::pool::load_pools_file(config_file);
        if (!pools) return die(pools.error().message);
        pool_configs = std::move(*pools);
    }

    asio::io_context io(1);
    llorch::placement::placement_config pc;
    pc.strategy = *placement_strategy;
    llorch::placement::placement_index index(pc);
    llorch::orchestrator::service_options so;
    so.admission.capacity = capacity;
    so.admission.policy = *llorch::admission::parse_full_policy(policy);
    so.disconnect_grace = std::chrono::milliseconds(grace_ms);
    so.retention = std::chrono::milliseconds(retention_ms);

    // HOME: the pools run in this process.
    std::unique_ptr<llorch::pool::pool_manager> manager;
    std::unique_ptr<llorch::orchestrator::local_backend> local;
    // CLOUD: nodes register; tasks go to them over HTTP.
    std::unique_ptr<llorch::registry::node_registry> registry;
    std::unique_ptr<llorch::orchestrator::cloud_backend> remote;
    llorch::orchestrator::pool_backend* backend = nullptr;
    if (!cloud) {
        llorch::pool::manager_options mo;
        mo.runtime_dir = runtime_dir;
        mo.stall_timeout = std::chrono::milliseconds(stall_ms);
        mo.ready_timeout = std::chrono::milliseconds(ready_ms);
        mo.health_interval = std::chrono::milliseconds(health_ms);
        manager = std::make_unique<llorch::pool::pool_manager>(
            io, mo, std::move(pool_configs), std::make_shared<llorch::gpu::system_gpu_inventory>());
        local = std::make_unique<llorch::orchestrator::local_backend>(*manager, index);
        backend = local.get();
    } else {
        llorch::registry::registry_config rc;
        rc.node_timeout = std::chrono::milliseconds(node_timeout_ms);
        rc.stale_check_interval = std::chrono::seconds(stale_check_secs);
        rc.control_plane_version = LLORCH_VERSION;
        registry = std::make_unique<llorch::registry::node_registry>(
            rc, index, std::chrono::steady_clock::now());
        llorch::orchestrator::cloud_options co;
        // The token sent to nodes comes from the variable the service routes take theirs from.
        co.service_token =
            llorch::http::outgoing_token_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
        co.stall_timeout = std::chrono::milliseconds(stall_ms);
        co.breaker.failure_threshold = static_cast<uint32_t>(breaker_failures);
        co.breaker.cool_down = std::chrono::milliseconds(breaker_cooldown_ms);
        co.tls = client_tls;
        remote = std::make_unique<llorch::orchestrator::cloud_backend>(io, co, *registry, index);
        backend = remote.get();
    }
    llorch::orchestrator::task_service tasks(io, so, index, *backend);
    if (manager) {
        manager->on_capacity_change([&](const std::string& pool_id) {
            local->sync(pool_id);
            tasks.wake();
        });
        local->sync();
    }

    auto routes = llorch::orchestrator::orchestratord_routes(
        {&tasks, &index, manager.get(), registry.get(), remote.get()});
    llorch::http::server_options hso;
    hso.name = "orchestratord";
    hso.address = listen->first;
    hso.port = listen->second;
    hso.tokens = *tokens;
    hso.service_tokens = *service_tokens;
    hso.tls = server_tls;
    llorch::http::server server(io, hso, std::move(routes));
    if (auto r = server.start(); !r) return die("ORCHESTRATORD_ADDR: " + r.error());
    if (manager) manager->start();
    tasks.start();
    if (cloud) {
        // The stale checker: nodes silent past their timeout go offline and every connection to
        // them ends, as if it broke: the dispatcher retries what had not reached its client yet
        // and ends the other streams with a retriable error.
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer t(io);
                for (;;) {
                    t.expires_after(std::chrono::seconds(stale_check_secs));
                    boost::system::error_code ec;
                    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    if (ec) co_return;
                    for (const auto& node :
                         registry->check_stale(std::chrono::steady_clock::now())) {
                        log->warn("node_id={} offline: no heartbeat within its timeout", node);
                        remote->node_offline(node, "no heartbeat within its timeout");
                        tasks.wake();
                    }
                }
            },
            asio::detached);
    }
    log->info("listening on {}:{} ({} profile, {} auth, {})", listen->first, server.port(),
              cloud ? "CLOUD" : "HOME", tokens->empty() ? "no" : "token",
              server_tls ? "https" : "http");
    std::cout << "orchestratord listening on " << listen->first << ":" << server.port()
              << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log->info("signal {}: no new tasks; running streams may finish for {} ms", sig, drain_ms);
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await tasks.stop(std::chrono::milliseconds(drain_ms));
                server.stop();
                if (manager) co_await manager->stop(std::chrono::milliseconds(1000));
            },
            [&](std::exception_ptr) { io.stop(); });
    });
    std::signal(SIGPIPE, SIG_IGN);
    io.run();
    log->info("stopped");
    return 0;
}
