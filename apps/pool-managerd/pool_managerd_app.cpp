#include "pool_managerd_app.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "common/log.h"
#include "daemon_run.h"
#include "gpu/system_gpu_inventory.h"
#include "http/client.h"
#include "http/io_threads.h"
#include "http/listen.h"
#include "http/server.h"
#include "pool/catalog_service.h"
#include "pool/node_agent.h"
#include "pool/pool_config.h"
#include "pool/pool_manager.h"
#include "pool/worker_api.h"

namespace llorch::daemon {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
auto log() {
    static auto l = common::logger("pool-managerd");
    return l;
}

std::string own_url(const std::string& host, uint16_t port, const http::tls_context& tls) {
    bool v6 = host.find(':') != std::string::npos;
    return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

std::string host_name() {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return host;
}
}  // namespace

pool_managerd_app::pool_managerd_app(pool_managerd_config cfg) : cfg_(std::move(cfg)) {}

pool_managerd_app::~pool_managerd_app() {
    if (threads_) threads_->stop();
}

uint16_t pool_managerd_app::port() const { return server_ ? server_->port() : 0; }

int pool_managerd_app::run() {
    return serve_until_signal("pool-managerd", io_, threads_,
                              {.start = [this] { return start(); },
                               .stop = [this] { return stop(); },
                               .on_signal =
                                   [this](int) {
                                       return fmt::format(
                                           "draining pools (up to {} ms), then stopping",
                                           cfg_.drain_deadline_ms);
                                   }});
}

startup_result<void> pool_managerd_app::start() {
    if (auto why = cfg_.validate(); !why.empty())
        return startup_error{startup_errc::invalid_option, why};
    auto listen = http::parse_listen_address(cfg_.addr);
    if (!listen)
        return at_key(startup_errc::bad_address, "POOL_MANAGERD_ADDR", listen.error().message);
    auto tokens = http::tokens_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
    if (!tokens) return startup_error{startup_errc::bad_token, tokens.error().message};
    if (auto why = http::check_bind(listen->first, *tokens, "LLORCH_SERVICE_TOKEN"); !why.empty())
        return startup_error{startup_errc::insecure_bind, why};
    auto pools = cfg_.config_file.empty()
                     ? boost::system::result<std::vector<pool::pool_config>, pool::config_error>(
                           std::vector<pool::pool_config>{})
                     : pool::load_pools_file(cfg_.config_file);
    // Errors of the file as a whole (unreadable, bad TOML) name the option that gave the file.
    if (!pools)
        return startup_error{
            startup_errc::pools_config,
            (pools.error().key.empty() ? "--config: " : "") + pools.error().message};
    auto selected = pool::select_pools(std::move(*pools), cfg_.pools);
    if (!selected) return startup_error{startup_errc::pools_config, selected.error().message};
    selected = pool::add_node_labels(std::move(*selected), cfg_.node_labels);
    if (!selected) return startup_error{startup_errc::pools_config, selected.error().message};
    const std::string node_id = cfg_.node_id.empty() ? host_name() : cfg_.node_id;

    auto served = serve_tls(cfg_.https, "POOL_MANAGERD", cfg_.tls_ca);
    if (!served) return served.error();
    http::tls_context client_tls;
    if (!cfg_.tls_ca.empty() || cfg_.orchestratord_url.starts_with("https://")) {
        auto t = http::make_client_tls(cfg_.tls_ca);
        if (!t) return at_key(startup_errc::tls_files, "POOL_MANAGERD_TLS_CA", t.error().message);
        client_tls = *t;
    }

    pool::manager_options mo;
    mo.runtime_dir = cfg_.runtime_dir;
    mo.watch_interval = milliseconds(cfg_.watch_interval_ms);
    mo.auto_delete_handoff = cfg_.auto_delete_handoff;
    mo.watch_handoffs = cfg_.watch_handoffs;
    mo.gpu_discovery_interval = milliseconds(cfg_.gpu_discovery_interval_ms);
    mo.stall_timeout = milliseconds(cfg_.stall_timeout_ms);
    mo.health_interval = milliseconds(cfg_.health_interval_ms);
    mo.ready_timeout = milliseconds(cfg_.ready_timeout_ms);
    mo.restart.max_crashes = cfg_.restart_max_crashes;
    mo.restart.window = milliseconds(cfg_.restart_window_ms);
    mo.restart.backoff.base = milliseconds(cfg_.restart_backoff_ms);
    mo.recovery.base = milliseconds(cfg_.pool_retry_base_ms);
    mo.recovery.cap = milliseconds(std::max(cfg_.pool_retry_max_ms, cfg_.pool_retry_base_ms));
    mo.node_id = node_id;
    mo.on_demand =
        on_demand_settings(cfg_.on_demand, selected->empty() && !cfg_.models_dir.empty());
    manager_ = std::make_unique<pool::pool_manager>(io_, mo, std::move(*selected),
                                                    std::make_shared<gpu::system_gpu_inventory>());

    manager_->add_metrics(metrics_);
    pool::catalog_options co;
    if (auto why = pool::make_catalog_options(co, cfg_.models_dir, cfg_.runtime_dir, node_id);
        !why.empty())
        return at_key(startup_errc::invalid_option, "POOL_MANAGERD_MODELS_DIR", why);
    catalog_ =
        std::make_shared<pool::catalog_service>(io_, std::move(co), manager_.get(), &metrics_);
    catalog_->on_change([this] { manager_->sync_catalog(catalog_->catalog().entries()); });
    http::router routes;
    pool::add_worker_routes(routes, *manager_, metrics_, {.node_id = node_id, .files = catalog_});
    http::server_options so;
    so.name = "pool-managerd";
    so.address = listen->first;
    so.port = listen->second;
    so.tokens = *tokens;
    so.tls = *served;
    apply_serve_limits(cfg_.limits, so);
    count_streams(metrics_, so);
    threads_ = std::make_unique<http::io_threads>(cfg_.io_threads);
    so.connection_executors = threads_->executors();
    server_ = std::make_unique<http::server>(io_, so, std::move(routes));
    if (auto r = server_->start(); !r)
        return at_key(startup_errc::listen_failed, "POOL_MANAGERD_ADDR", r.error().message);
    threads_->start();
    manager_->start();
    catalog_->start();
    if (cfg_.cloud) {
        pool::node_agent_options ao;
        ao.orchestratord_url = cfg_.orchestratord_url;
        ao.node_id = node_id;
        // Without an address of its own, the node is reached where it listens.
        ao.address =
            !cfg_.address.empty() ? cfg_.address : own_url(listen->first, server_->port(), *served);
        ao.heartbeat_interval =
            milliseconds(static_cast<long long>(cfg_.heartbeat_interval_secs * 1000));
        std::ifstream mid("/etc/machine-id");
        std::getline(mid, ao.machine_id);
        ao.service_token =
            http::outgoing_token_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
        ao.tls = client_tls;
        ao.metrics = &metrics_;
        ao.catalog = catalog_.get();
        agent_ = std::make_unique<pool::node_agent>(io_, ao, *manager_);
        agent_->start();
    }
    started_ = true;
    log()->info("listening on {}:{} (node_id={}, {} auth, runtime dir {})", listen->first,
                server_->port(), node_id, tokens->empty() ? "no" : "token", cfg_.runtime_dir);
    std::cout << "pool-managerd listening on " << listen->first << ":" << server_->port()
              << std::endl;
    return {};
}

asio::awaitable<void> pool_managerd_app::stop() {
    if (!started_) co_return;
    started_ = false;
    server_->stop();
    co_await catalog_->stop();
    co_await manager_->stop(milliseconds(cfg_.drain_deadline_ms));
    // Streams that ended during the drain still have their last frames to write.
    co_await server_->wait_exchanges(milliseconds(2000));
    if (agent_) co_await agent_->stop();
}

}  // namespace llorch::daemon
