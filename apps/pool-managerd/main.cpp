// pool-managerd — the worker daemon of llama-orch: runs and supervises the inference engines of
// this machine and serves them to orchestratord (or to anyone holding the service token).
#include <csignal>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/log.h"
#include "daemon_cli.h"
#include "gpu/system_gpu_inventory.h"
#include "http/client.h"
#include "http/listen.h"
#include "http/server.h"
#include "pool/node_agent.h"
#include "pool/pool_config.h"
#include "pool/pool_manager.h"
#include "pool/worker_api.h"

namespace asio = boost::asio;

int main(int argc, char** argv) {
    std::string config_file, addr = "127.0.0.1:9200", pools_sel, node_id;
    std::string runtime_dir = llorch::daemon::default_runtime_dir();
    llorch::daemon::logging_options logging;
    llorch::daemon::serve_tls_options https;
    long long watch_ms = 1000, gpu_ms = 10000, stall_ms = 30000, health_ms = 2000, drain_ms = 30000,
              ready_ms = 180000, restart_window_ms = 60000, restart_base_ms = 500;
    int max_crashes = 5;
    bool auto_delete = false, watch_handoffs = true;
    bool cloud = false;
    std::string orchestratord_url, public_address;
    double heartbeat_secs = 10;
    std::string tls_ca;

    CLI::App app{
        "pool-managerd — llama-orch worker daemon: runs and supervises the inference "
        "engines of this machine.\nTokens come from the environment only: "
        "LLORCH_SERVICE_TOKEN (comma-separated for rotation), falling back to "
        "LLORCH_API_TOKEN; required when binding a non-loopback address."};
    app.set_version_flag("--version", std::string("pool-managerd ") + LLORCH_VERSION);
    app.add_option("--config", config_file, "TOML file with the [[pools]] tables")
        ->envname("POOL_MANAGERD_CONFIG")
        ->required();
    app.add_option("--addr", addr, "listen address HOST:PORT")
        ->envname("POOL_MANAGERD_ADDR")
        ->capture_default_str();
    app.add_option("--pools", pools_sel,
                   "comma-separated ids of the configured pools to run (default all)")
        ->envname("POOL_MANAGERD_POOLS");
    app.add_option("--node-id", node_id, "this node's id (default: the host name)")
        ->envname("POOL_MANAGERD_NODE_ID");
    app.add_option("--runtime-dir", runtime_dir, "handoff files and engine logs")
        ->envname("POOL_MANAGERD_RUNTIME_DIR")
        ->capture_default_str();
    app.add_option("--watch-interval-ms", watch_ms, "handoff directory polling interval")
        ->envname("POOL_MANAGERD_WATCH_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(10LL, 3600000LL));
    app.add_flag("--auto-delete-handoff", auto_delete,
                 "remove adopted handoff files once processed")
        ->envname("POOL_MANAGERD_AUTO_DELETE_HANDOFF");
    app.add_flag("--watch-handoffs,!--no-watch-handoffs", watch_handoffs,
                 "adopt engines announced by handoff files in the runtime dir (default: on)")
        ->envname("POOL_MANAGERD_WATCH_HANDOFFS");
    app.add_option("--gpu-discovery-interval-ms", gpu_ms, "GPU inventory refresh interval")
        ->envname("POOL_MANAGERD_GPU_DISCOVERY_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3600000LL));
    app.add_option("--stall-timeout-ms", stall_ms,
                   "an engine silent this long ends the stream with DECODE_TIMEOUT")
        ->envname("POOL_MANAGERD_STALL_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 3600000LL));
    app.add_option("--health-interval-ms", health_ms, "engine liveness probe interval")
        ->envname("POOL_MANAGERD_HEALTH_INTERVAL_MS")
        ->capture_default_str()
        ->check(CLI::Range(50LL, 3600000LL));
    app.add_option("--ready-timeout-ms", ready_ms, "longest an engine may take to become ready")
        ->envname("POOL_MANAGERD_READY_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 36000000LL));
    app.add_option("--drain-deadline-ms", drain_ms,
                   "on SIGTERM, how long in-flight work may finish")
        ->envname("POOL_MANAGERD_DRAIN_DEADLINE_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 3600000LL));
    app.add_option("--restart-max-crashes", max_crashes,
                   "crashes within the window that make a pool failed")
        ->envname("POOL_MANAGERD_RESTART_MAX_CRASHES")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--restart-window-ms", restart_window_ms, "crash-loop window")
        ->envname("POOL_MANAGERD_RESTART_WINDOW_MS")
        ->capture_default_str()
        ->check(CLI::Range(100LL, 86400000LL));
    app.add_option("--restart-backoff-ms", restart_base_ms,
                   "first restart backoff (doubles, capped at 30 s)")
        ->envname("POOL_MANAGERD_RESTART_BACKOFF_MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 600000LL));
    llorch::daemon::add_logging_options(app, logging);
    app.add_flag("--cloud-profile", cloud,
                 "register with orchestratord and heartbeat to it (CLOUD profile)")
        ->envname("POOL_MANAGERD_CLOUD_PROFILE");
    app.add_option("--orchestratord-url", orchestratord_url,
                   "CLOUD: orchestratord's URL, e.g. http://10.0.0.1:8080")
        ->envname("ORCHESTRATORD_URL");
    app.add_option("--address", public_address,
                   "CLOUD: this node's URL as orchestratord reaches it, e.g. http://10.0.0.5:9200")
        ->envname("POOL_MANAGERD_ADDRESS");
    app.add_option("--heartbeat-interval-secs", heartbeat_secs,
                   "CLOUD: heartbeat interval (fractions allowed); orchestratord marks the node "
                   "offline after 3 missed beats or its own node timeout, whichever is longer")
        ->envname("POOL_MANAGERD_HEARTBEAT_INTERVAL_SECS")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 3600.0));
    llorch::daemon::add_serve_tls_options(app, https, "POOL_MANAGERD");
    app.add_option("--tls-ca", tls_ca,
                   "CA for mutual TLS: callers must present a certificate it signed; also verifies "
                   "orchestratord's https certificate in the CLOUD profile")
        ->envname("POOL_MANAGERD_TLS_CA");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    llorch::daemon::start_logging(logging);
    auto log = llorch::common::logger("pool-managerd");
    auto die = [](const std::string& m) {
        std::cerr << "pool-managerd: " << m << "\n";
        return 2;
    };

    auto listen = llorch::http::parse_listen_address(addr);
    if (!listen) return die("POOL_MANAGERD_ADDR: " + listen.error());
    auto tokens = llorch::http::tokens_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
    if (!tokens) return die(tokens.error());
    if (auto why = llorch::http::check_bind(listen->first, *tokens, "LLORCH_SERVICE_TOKEN");
        !why.empty())
        return die(why);
    auto pools = llorch::pool::load_pools_file(config_file);
    // Errors of the file as a whole (unreadable, bad TOML) name the option that gave the file.
    if (!pools) return die((pools.error().key.empty() ? "--config: " : "") + pools.error().message);
    auto selected = llorch::pool::select_pools(std::move(*pools), pools_sel);
    if (!selected) return die(selected.error().message);
    if (node_id.empty()) {
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        node_id = host;
    }

    if (cloud && orchestratord_url.empty())
        return die("ORCHESTRATORD_URL: the CLOUD profile needs orchestratord's URL");
    if (cloud && public_address.empty())
        return die(
            "POOL_MANAGERD_ADDRESS: the CLOUD profile needs this node's URL as "
            "orchestratord reaches it, e.g. http://10.0.0.5:9200");
    if (cloud && !llorch::http::parse_url(orchestratord_url))
        return die("ORCHESTRATORD_URL: '" + orchestratord_url + "' is not an http:// URL");
    if (cloud && !llorch::http::parse_url(public_address))
        return die("POOL_MANAGERD_ADDRESS: '" + public_address + "' is not an http:// URL");

    if (!tls_ca.empty() && https.cert.empty())
        return die("POOL_MANAGERD_TLS_CA: mutual TLS needs POOL_MANAGERD_TLS_CERT/KEY too");
    auto served = llorch::daemon::serve_tls(https, "POOL_MANAGERD", tls_ca);
    if (!served) return die(served.error());
    auto server_tls = *served;
    llorch::http::tls_context client_tls;
    if (!tls_ca.empty() || orchestratord_url.starts_with("https://")) {
        auto t = llorch::http::make_client_tls(tls_ca);
        if (!t) return die("POOL_MANAGERD_TLS_CA: " + t.error());
        client_tls = *t;
    }

    asio::io_context io(1);
    llorch::pool::manager_options mo;
    mo.runtime_dir = runtime_dir;
    mo.watch_interval = std::chrono::milliseconds(watch_ms);
    mo.auto_delete_handoff = auto_delete;
    mo.watch_handoffs = watch_handoffs;
    mo.gpu_discovery_interval = std::chrono::milliseconds(gpu_ms);
    mo.stall_timeout = std::chrono::milliseconds(stall_ms);
    mo.health_interval = std::chrono::milliseconds(health_ms);
    mo.ready_timeout = std::chrono::milliseconds(ready_ms);
    mo.restart.max_crashes = max_crashes;
    mo.restart.window = std::chrono::milliseconds(restart_window_ms);
    mo.restart.backoff.base = std::chrono::milliseconds(restart_base_ms);
    mo.node_id = node_id;
    llorch::pool::pool_manager manager(io, mo, std::move(*selected),
                                       std::make_shared<llorch::gpu::system_gpu_inventory>());

    llorch::http::router routes;
    llorch::pool::add_worker_routes(routes, manager, {.node_id = node_id});
    llorch::http::server_options so;
    so.name = "pool-managerd";
    so.address = listen->first;
    so.port = listen->second;
    so.tokens = *tokens;
    so.tls = server_tls;
    llorch::http::server server(io, so, std::move(routes));
    if (auto r = server.start(); !r) return die("POOL_MANAGERD_ADDR: " + r.error());
    manager.start();
    std::unique_ptr<llorch::pool::node_agent> agent;
    if (cloud) {
        llorch::pool::node_agent_options ao;
        ao.orchestratord_url = orchestratord_url;
        ao.node_id = node_id;
        ao.address = public_address;
        ao.heartbeat_interval =
            std::chrono::milliseconds(static_cast<long long>(heartbeat_secs * 1000));
        std::ifstream mid("/etc/machine-id");
        std::getline(mid, ao.machine_id);
        ao.service_token =
            llorch::http::outgoing_token_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
        ao.tls = client_tls;
        agent = std::make_unique<llorch::pool::node_agent>(io, ao, manager);
        agent->start();
    }
    log->info("listening on {}:{} (node_id={}, {} auth, runtime dir {})", listen->first,
              server.port(), node_id, tokens->empty() ? "no" : "token", runtime_dir);
    std::cout << "pool-managerd listening on " << listen->first << ":" << server.port()
              << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log->info("signal {}: draining pools (up to {} ms), then stopping", sig, drain_ms);
        server.stop();
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await manager.stop(std::chrono::milliseconds(drain_ms));
                if (agent) co_await agent->stop();
            },
            [&](std::exception_ptr) { io.stop(); });
    });
    std::signal(SIGPIPE, SIG_IGN);
    io.run();
    log->info("stopped");
    return 0;
}
